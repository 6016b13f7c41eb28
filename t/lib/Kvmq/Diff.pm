package Kvmq::Diff;

# Differential testing against a real redis-server: the same random
# command sequence goes to redis (RESP) and to kvmq's /cmd (JSON), and the
# replies must be the same once both are put in one canonical form:
#
#   integer       i:5            bulk/status    s:OK
#   nil           nil            array          [a,b]
#   error         E:CODE   (redis "WRONGTYPE ..." -> WRONGTYPE,
#                           "ERR no such key" -> NOTFOUND, other -> BADREQ)
#
# Generators for each family of commands live here so later types can add
# theirs; a seed makes every run replayable.
#
# The aggregate types add shapes: kvmq follows API.md where Redis' RESP2
# is flat (see canon_pair below): scores are numbers (d:1.5, d:inf),
# scored members and HRANDFIELD ... WITHVALUES are [member, score] pairs,
# HGETALL is an object.  canon_pair puts both replies of one command in
# one canonical form, then applies a compare mode (Kvmq::DiffHash's
# compare_mode: exact, unordered, map, length, scan).

use strict;
use warnings;

use B ();
use MIME::Base64 qw(decode_base64);
use Exporter 'import';

our @EXPORT_OK = qw(canon_resp canon_json string_command canon_pair
    reply_shape err_status);

sub _is_num {
    my ($v) = @_;
    my $f = B::svref_2object(\$v)->FLAGS;
    return !($f & B::SVp_POK) && ($f & (B::SVp_IOK | B::SVp_NOK));
}

sub _q {
    my ($s) = @_;
    $s =~ s/([^\x20-\x7e]|[\\"])/sprintf('\\x%02x', ord $1)/ge;
    return "s:\"$s\"";
}

sub canon_resp {
    my ($r) = @_;
    my $t = $r->[0];
    return _q($r->[1]) if $t eq 'status' || $t eq 'bulk';
    return "i:$r->[1]" if $t eq 'int';
    return 'nil' if $t eq 'nil';
    return '[' . join(',', map { canon_resp($_) } @{ $r->[1] }) . ']'
        if $t eq 'array';
    if ($t eq 'error') {
        return 'E:WRONGTYPE' if $r->[1] =~ /^WRONGTYPE/;
        return 'E:NOTFOUND' if $r->[1] =~ /^ERR no such key/;
        return 'E:BADREQ';
    }
    die "unknown resp type $t";
}

# $b64: the reply came from ?encoding=base64, where every string is base64
sub canon_json {
    my ($v, $b64) = @_;
    return 'nil' unless defined $v;
    if (ref $v eq 'ARRAY') {
        return '[' . join(',', map { canon_json($_, $b64) } @$v) . ']';
    }
    if (ref $v eq 'HASH') {
        return 'E:' . $v->{error} if exists $v->{error};
        return _q(decode_base64($v->{base64})) if exists $v->{base64};
        return '{' . join(',', map { "$_:" . canon_json($v->{$_}, $b64) }
            sort keys %$v) . '}';
    }
    return "i:$v" if _is_num($v);
    return _q($b64 ? decode_base64($v) : $v);
}


# ---- aggregate types: shapes and compare modes ------------------------

# How the reply of a command is shaped on each side:
#
#   score    a lone score: Redis a bulk ("1.5", "inf"), kvmq a number or
#            "inf"/"-inf" (ZSCORE, ZINCRBY, ZADD ... INCR)
#   scores   an array of scores or nils (ZMSCORE)
#   pairs    scored members: Redis flat [m, s, ...], kvmq [[m, s], ...]
#            (WITHSCORES, ZPOPMIN, ZPOPMAX)
#   fvpairs  HRANDFIELD ... WITHVALUES: Redis flat, kvmq [[f, v], ...]
#   map      HGETALL: Redis flat, kvmq an object
#   zscan    [cursor, items]: Redis items flat, kvmq [m, s] pairs
#   plain    the same shape on both sides
sub reply_shape {
    my ($cmd) = @_;
    my $name = uc $cmd->[0];
    my @args = map { uc } @$cmd[1 .. $#$cmd];

    return 'score' if $name eq 'ZSCORE' || $name eq 'ZINCRBY';

    if ($name eq 'ZADD') {
        for my $a (@args[1 .. $#args]) {
            last unless $a =~ /^(?:NX|XX|GT|LT|CH|INCR)$/;
            return 'score' if $a eq 'INCR';
        }
        return 'plain';
    }

    return 'scores' if $name eq 'ZMSCORE';
    return 'pairs' if $name eq 'ZPOPMIN' || $name eq 'ZPOPMAX';
    return 'pairs' if $name =~ /^Z(?:REV)?RANGE(?:BYSCORE)?$/
        && grep { $_ eq 'WITHSCORES' } @args[3 .. $#args];
    return 'fvpairs' if $name eq 'HRANDFIELD'
        && grep { $_ eq 'WITHVALUES' } @args;
    return 'map' if $name eq 'HGETALL';
    return 'zscan' if $name eq 'ZSCAN';
    return 'plain';
}

# the HTTP status an error code must come with
my %STATUS = (BADREQ => 400, DENIED => 403, NOTFOUND => 404,
    WRONGTYPE => 409, PRECONDITION => 412, TOOLARGE => 413, NOMEM => 507);

sub err_status { return $STATUS{ $_[0] } // 0 }

# A double in one text for both sides: %.17g reads back as the same
# double, so Redis' "0.10000000000000001" and kvmq's 0.1 meet.
sub _dbl {
    my ($s) = @_;
    my $x = 0 + $s;
    return 'd:inf' if $x == 9**9**9;
    return 'd:-inf' if $x == -9**9**9;
    return 'd:nan' if $x != $x;
    $x = 0 if $x == 0;
    return 'd:' . sprintf('%.17g', $x);
}

# trees of canonical atoms: arrays stay arrays, scalars are i: s: d: nil E:
sub _rtree {
    my ($r) = @_;
    return [map { _rtree($_) } @{ $r->[1] }] if $r->[0] eq 'array';
    return canon_resp($r);
}

sub _jtree {
    my ($v) = @_;
    return [map { _jtree($_) } @$v] if ref $v eq 'ARRAY';
    return canon_json($v, 1);
}

sub _rscore {
    my ($r) = @_;
    return _dbl($r->[1]) if $r->[0] eq 'bulk';
    return _rtree($r);
}

sub _jscore {
    my ($v) = @_;
    return _dbl($v) if defined $v && !ref $v
        && (_is_num($v) || $v =~ /^-?inf$/);
    return _jtree($v);
}

# Redis' flat [a, b, c, d] as [[a, b], [c, d]], b and d through $second
sub _rpairs {
    my ($r, $second) = @_;
    return _rtree($r) unless $r->[0] eq 'array';
    my @e = @{ $r->[1] };
    my @p;
    while (@e) {
        my ($a, $b) = splice(@e, 0, 2);
        push @p, [_rtree($a), defined $b ? $second->($b) : 'MISSING'];
    }
    return \@p;
}

sub _jpairs {
    my ($v, $second) = @_;
    return _jtree($v) unless ref $v eq 'ARRAY';
    return [map {
        ref $_ eq 'ARRAY' && @$_ == 2
            ? [_jtree($_->[0]), $second->($_->[1])]
            : _jtree($_)
    } @$v];
}

sub _str {
    my ($t) = @_;
    return $t unless ref $t;
    return '[' . join(',', map { _str($_) } @$t) . ']';
}

sub _sorted {
    my ($t) = @_;
    return $t unless ref $t;
    return [sort { _str($a) cmp _str($b) } @$t];
}

# flat [f, v, f, v] of HSCAN (both sides) as sorted pairs
sub _flat_pairs {
    my ($t) = @_;
    return $t unless ref $t;
    my @e = @$t;
    my @p;
    push @p, [splice(@e, 0, 2)] while @e;
    return _sorted(\@p);
}

# ($want, $got): the canonical forms of redis' reply (a Kvmq::Resp tree)
# and kvmq's (decoded JSON of /cmd?encoding=base64) to one command, after
# the shape mapping and the compare mode
sub canon_pair {
    my ($cmd, $resp, $json, $mode) = @_;
    my $shape = reply_shape($cmd);
    my ($w, $g);

    if ($shape eq 'score') {
        ($w, $g) = (_rscore($resp), _jscore($json));
    } elsif ($shape eq 'scores') {
        $w = $resp->[0] eq 'array'
            ? [map { _rscore($_) } @{ $resp->[1] }] : _rtree($resp);
        $g = ref $json eq 'ARRAY'
            ? [map { _jscore($_) } @$json] : _jtree($json);
    } elsif ($shape eq 'pairs') {
        ($w, $g) = (_rpairs($resp, \&_rscore), _jpairs($json, \&_jscore));
    } elsif ($shape eq 'fvpairs') {
        ($w, $g) = (_rpairs($resp, \&_rtree), _jpairs($json, \&_jtree));
    } elsif ($shape eq 'map') {
        $w = _rpairs($resp, \&_rtree);
        if (ref $json eq 'HASH' && !exists $json->{error}) {
            $g = [map { [_q(decode_base64($_)), _jtree($json->{$_})] }
                keys %$json];
        } else {
            $g = _jtree($json);
        }
        ($w, $g) = (_sorted($w), _sorted($g));
    } elsif ($shape eq 'zscan') {
        $w = $resp->[0] eq 'array' && @{ $resp->[1] } == 2
            ? [_rtree($resp->[1][0]), _rpairs($resp->[1][1], \&_rscore)]
            : _rtree($resp);
        $g = ref $json eq 'ARRAY' && @$json == 2
            ? [_jtree($json->[0]), _jpairs($json->[1], \&_jscore)]
            : _jtree($json);
    } else {
        ($w, $g) = (_rtree($resp), _jtree($json));
    }

    $mode //= 'exact';

    # errors, nils and integers are compared as they are in every mode
    if (!ref $w || !ref $g) {
        if ($mode eq 'length' && !ref $w && !ref $g
            && $w =~ /^s:/ && $g =~ /^s:/)
        {
            return ('a bulk', 'a bulk');
        }
        return (_str($w), _str($g));
    }

    if ($mode eq 'unordered' || $mode eq 'map') {
        ($w, $g) = (_sorted($w), _sorted($g));
    } elsif ($mode eq 'length') {
        return ('length ' . @$w, 'length ' . @$g);
    } elsif ($mode eq 'scan') {
        return (_str($w), _str($g)) unless @$w == 2 && @$g == 2
            && ref $w->[1] && ref $g->[1];
        # a whole scan from cursor 0 has the same items on both sides;
        # anything else depends on each side's hash function
        if ($cmd->[2] eq '0' && $w->[0] eq 's:"0"' && $g->[0] eq 's:"0"') {
            my $items = uc $cmd->[0] eq 'HSCAN' ? \&_flat_pairs : \&_sorted;
            ($w, $g) = ($items->($w->[1]), $items->($g->[1]));
        } else {
            return ('[cursor,[...]]', '[cursor,[...]]');
        }
    }

    return (_str($w), _str($g));
}


# ---- strings and keys ---------------------------------------------------

my @KEYS = map { "k$_" } 0 .. 5;
my @VALUES = ('', '0', '1', '-5', '12', '3.5', 'abc', 'hello world',
    '9223372036854775807', '-9223372036854775808', '1e3', ' 1', '10.50',
    "bin\x00\xff\x01", "\xc3\xa9t\xc3\xa9", '007', '-0', '+1', '0x10');
my @INTS = ('0', '1', '-1', '5', '100', '-100', 'abc', '1.5',
    '9223372036854775807', '-9223372036854775808', '', '07');
my @FLOATS = ('1.5', '-2', 'abc', '1e2', '0.1', '5.0e3', 'inf', '-0',
    '3', '1e308', '');
my @OFFSETS = ('0', '1', '3', '7', '8', '15', '23', '40', '-1', 'x');
my @RANGES = ('0', '1', '2', '-1', '-2', '-100', '100', '3', 'x');

sub _pick { return $_[0]->[int(rand(@{ $_[0] }))] }
sub _key { return _pick(\@KEYS) }
sub _val { return _pick(\@VALUES) }

my @STRING_GEN = (
    sub {
        my @c = ('SET', _key(), _val());
        my @opt;
        push @opt, _pick([qw(NX XX)]) if rand() < 0.3;
        push @opt, 'GET' if rand() < 0.2;
        my $r = rand();
        if ($r < 0.15) { push @opt, 'EX', _pick(['1000', '0', '-1', 'x']) }
        elsif ($r < 0.3) { push @opt, 'PX', _pick(['100000', '0']) }
        elsif ($r < 0.4) { push @opt, 'KEEPTTL' }
        elsif ($r < 0.45) { push @opt, 'EXAT', '4102444800' }
        elsif ($r < 0.5) { push @opt, 'PXAT', '4102444800000' }
        push @opt, _pick([qw(NX XX GET KEEPTTL EX FOO)]) if rand() < 0.05;
        return [@c, @opt];
    },
    sub { ['SETNX', _key(), _val()] },
    sub { ['SETEX', _key(), _pick(['1000', '0', '-5', 'x']), _val()] },
    sub { ['PSETEX', _key(), _pick(['100000', '0']), _val()] },
    sub { ['GET', _key()] },
    sub { ['GET', _key()] },
    sub { ['GETSET', _key(), _val()] },
    sub { ['GETDEL', _key()] },
    sub {
        my @c = ('GETEX', _key());
        my $r = rand();
        if ($r < 0.3) { push @c, 'PERSIST' }
        elsif ($r < 0.6) { push @c, 'EX', _pick(['1000', '0', 'x']) }
        elsif ($r < 0.7) { push @c, 'PX', '100000' }
        elsif ($r < 0.75) { push @c, 'EXAT', '4102444800' }
        elsif ($r < 0.8) { push @c, 'BOGUS' }
        return \@c;
    },
    sub { ['MSET', map { (_key(), _val()) } 1 .. 1 + int(rand(3))] },
    sub { ['MSETNX', map { (_key(), _val()) } 1 .. 1 + int(rand(3))] },
    sub { ['MGET', map { _key() } 1 .. 1 + int(rand(4))] },
    sub { ['APPEND', _key(), _val()] },
    sub { ['STRLEN', _key()] },
    sub { ['GETRANGE', _key(), _pick(\@RANGES), _pick(\@RANGES)] },
    sub { ['SETRANGE', _key(), _pick(['0', '1', '5', '20', '-1', 'x']),
            _val()] },
    sub { ['INCR', _key()] },
    sub { ['DECR', _key()] },
    sub { ['INCRBY', _key(), _pick(\@INTS)] },
    sub { ['DECRBY', _key(), _pick(\@INTS)] },
    sub { ['INCRBYFLOAT', _key(), _pick(\@FLOATS)] },
    sub { ['SETBIT', _key(), _pick(\@OFFSETS), _pick(['0', '1', '2'])] },
    sub { ['GETBIT', _key(), _pick(\@OFFSETS)] },
    sub {
        my @c = ('BITCOUNT', _key());
        if (rand() < 0.6) {
            push @c, _pick(\@RANGES), _pick(\@RANGES);
            push @c, _pick([qw(BYTE BIT)]) if rand() < 0.5;
        }
        return \@c;
    },
    sub {
        my @c = ('BITPOS', _key(), _pick(['0', '1', '1', '2']));
        if (rand() < 0.6) {
            push @c, _pick(\@RANGES);
            if (rand() < 0.6) {
                push @c, _pick(\@RANGES);
                push @c, _pick([qw(BYTE BIT)]) if rand() < 0.5;
            }
        }
        return \@c;
    },
    sub {
        my $op = _pick([qw(AND OR XOR NOT)]);
        return ['BITOP', $op, _key(), _key()] if $op eq 'NOT';
        return ['BITOP', $op, _key(), map { _key() } 1 .. 1 + int(rand(3))];
    },
    sub { ['DEL', map { _key() } 1 .. 1 + int(rand(3))] },
    sub { ['UNLINK', _key()] },
    sub { ['EXISTS', map { _key() } 1 .. 1 + int(rand(3))] },
    sub { ['TYPE', _key()] },
    sub {
        my @c = (_pick([qw(EXPIRE PEXPIRE)]), _key(),
            _pick(['1000000', '2000000', '-1', 'x']));
        push @c, _pick([qw(NX XX)]) if rand() < 0.5;
        return \@c;
    },
    sub {
        # GT/LT compare against the current expiry: with relative times
        # two calls in the same millisecond tie on one side and not on
        # the other, so these use absolute times
        my $at = _pick([qw(EXPIREAT PEXPIREAT)]);
        my @t = $at eq 'EXPIREAT'
            ? ('4102444800', '4102444900', '4102444700', '1')
            : ('4102444800000', '4102444900000', '4102444700000', '1');
        return [$at, _key(), _pick(\@t), _pick([qw(GT LT NX XX)])];
    },
    sub { ['EXPIREAT', _key(), _pick(['4102444800', '4102444801', '1'])] },
    sub { ['PERSIST', _key()] },
    sub { ['TTL', _key()] },
    sub { ['PTTL', _key()] },
    sub { ['EXPIRETIME', _key()] },
    sub { ['RENAME', _key(), _key()] },
    sub { ['RENAMENX', _key(), _key()] },
    sub { ['TOUCH', _key(), _key()] },
    sub { ['DBSIZE'] },
    sub { ['KEYS', _pick(['*', 'k[0-2]', 'k?', 'x*'])] },
    sub { ['STRLEN', _key()] },
);

sub string_command {
    return _pick(\@STRING_GEN)->();
}

1;
