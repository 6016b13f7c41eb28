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

use strict;
use warnings;

use B ();
use MIME::Base64 qw(decode_base64);
use Exporter 'import';

our @EXPORT_OK = qw(canon_resp canon_json string_command);

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
        push @c, _pick([qw(NX XX GT LT)]) if rand() < 0.5;
        return \@c;
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
