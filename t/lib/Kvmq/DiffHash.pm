package Kvmq::DiffHash;

# Random hash and set commands for the differential test against a real
# redis-server, in the style of Kvmq::Diff: each generator returns one
# command as an arrayref.  Keys are k0..k5, the same as Kvmq::Diff's
# string generators use, so types collide (WRONGTYPE, *STORE over a
# string); a few SET/DEL/EXPIRE commands are mixed in for that even in a
# hash-only or set-only run.
#
# Sizes are chosen to cross every encoding threshold: hashes get bursts
# of fields past 128 and values past 64 bytes (packed -> table); sets get
# integers past 512 (intset), strings past 128 and members past 64 bytes.
#
# compare_mode($cmd) says how the two replies can be compared, because
# some commands have no order or no determinism in Redis itself:
#
#   exact      the canonical forms must be equal
#   unordered  an array whose element order Redis does not define
#              (SMEMBERS SINTER SUNION SDIFF HKEYS HVALS, and SPOP or
#              SRANDMEMBER with a count that takes the whole set):
#              compare sorted elements
#   map        HGETALL: redis' flat [f, v, ...] against kvmq's map
#              (a JSON object): compare the sorted pairs
#   length     random picks (SRANDMEMBER, HRANDFIELD, SPOP of part of a
#              set): compare the reply type and length only.  kvmq's
#              HRANDFIELD ... WITHVALUES replies [[f, v], ...] (RESP3's
#              shape), redis 2n flat elements for n pairs.
#   scan       HSCAN/SSCAN: [cursor, [elements]]; when both cursors are
#              "0" compare the sorted elements (sorted pairs for
#              HSCAN), else only the shape
#
# In every mode, when either reply is an error, nil or an integer, the
# canonical forms must be equal (errors by code, as Kvmq::Diff has
# them); "length" on a single bulk (SRANDMEMBER k, HRANDFIELD k) means
# both are bulks.
#
# The generators never issue a command whose effect is random (SPOP
# without a count, or with one smaller than the set), so both servers
# keep the same data and later replies stay comparable.

use strict;
use warnings;

use Exporter 'import';

our @EXPORT_OK = qw(hash_command set_command compare_mode);

my @KEYS = map { "k$_" } 0 .. 5;

sub _pick { return $_[0]->[int(rand(@{ $_[0] }))] }
sub _key { return _pick(\@KEYS) }
sub _n { my ($lo, $hi) = @_; return $lo + int(rand($hi - $lo + 1)) }

my $LONG = 'L' x 70;

my @FIELDS = ('f0', 'f1', 'f2', 'f3', 'f4', 'f5', '1', '-1', '007', '',
    "b\x00in", "\xc3\xa9", 'long:' . ('x' x 64));
my @HVALUES = ('', 'v', 'hello world', '0', '1', '-7', '12', '3.5', '1e3',
    ' 1', '10.50', '9223372036854775807', '-9223372036854775808', '007',
    "bin\x00\xff", 'y' x 64, 'z' x 65, $LONG);
my @INTS = ('0', '1', '-1', '5', '100', '-100', 'abc', '1.5', '', '07',
    '9223372036854775807', '-9223372036854775808');
my @FLOATS = ('1.5', '-2', 'abc', '1e2', '0.1', '5.0e3', 'inf', '-0', '3',
    '', 'nan', '0.25', '-1.125');
my @COUNTS = ('0', '1', '2', '3', '5', '10', '200', '-1', '-3', '-10', 'x',
    '1.5');
my @PATTERNS = ('*', 'f*', '*1*', 'g1?', '[a-f]*', 'm*', '1*', 'x');

sub _field {
    return rand() < 0.75 ? _pick(\@FIELDS) : 'g' . int(rand(300));
}

sub _hval { return _pick(\@HVALUES) }

sub _member {
    my $r = rand();
    return int(rand(40)) - 10 if $r < 0.35;
    return 'm' . int(rand(40)) if $r < 0.75;
    return _pick(['', '007', '-0', '+1', "\x00", "\xff\xfe", 'a b',
        '9223372036854775807', '-9223372036854775808',
        '9223372036854775808', 'q' x 64, 'q' x 65]);
}

sub _int_member { return int(rand(2000)) - 1000 }

sub _collide {
    my $r = rand();
    return ['SET', _key(), 'str'] if $r < 0.4;
    return ['DEL', _key()] if $r < 0.8;
    return ['EXPIRE', _key(), '100000'];
}

my @HASH_GEN = (
    sub { ['HSET', _key(), map { (_field(), _hval()) } 1 .. _n(1, 3)] },
    sub { ['HSET', _key(), map { (_field(), _hval()) } 1 .. _n(1, 3)] },
    sub {
        # a burst: past 128 fields in a few of these
        my $base = int(rand(300));
        return ['HSET', _key(),
            map { ('g' . (($base + $_) % 300), 'v' . $_) } 1 .. _n(20, 60)];
    },
    sub { ['HSET', _key(), _field()] },
    sub { ['HSET', _key(), 'f0', 'a', 'f0', 'b', 'f1', 'c', 'f0', 'd'] },
    sub { ['HMSET', _key(), map { (_field(), _hval()) } 1 .. _n(1, 3)] },
    sub { ['HMSET', _key(), _field(), _hval(), _field()] },
    sub { ['HSETNX', _key(), _field(), _hval()] },
    sub { ['HGET', _key(), _field()] },
    sub { ['HGET', _key(), _field()] },
    sub { ['HMGET', _key(), map { _field() } 1 .. _n(1, 4)] },
    sub { ['HGETALL', _key()] },
    sub { ['HLEN', _key()] },
    sub { ['HKEYS', _key()] },
    sub { ['HVALS', _key()] },
    sub { ['HEXISTS', _key(), _field()] },
    sub { ['HDEL', _key(), map { _field() } 1 .. _n(1, 4)] },
    sub { ['HDEL', _key(), map { 'g' . int(rand(300)) } 1 .. _n(5, 40)] },
    sub { ['HINCRBY', _key(), _field(), _pick(\@INTS)] },
    sub { ['HINCRBY', _key(), _pick(['n0', 'n1']), _pick(\@INTS)] },
    sub { ['HINCRBYFLOAT', _key(), _field(), _pick(\@FLOATS)] },
    sub { ['HINCRBYFLOAT', _key(), _pick(['n0', 'n2']), _pick(\@FLOATS)] },
    sub { ['HSTRLEN', _key(), _field()] },
    sub {
        my @c = ('HSCAN', _key(), _pick(['0', '0', '0', '7', '-1', 'x', '']));
        push @c, 'MATCH', _pick(\@PATTERNS) if rand() < 0.4;
        push @c, 'COUNT', _pick(['1000', '1000', '5', '0', 'x'])
            if rand() < 0.8;
        push @c, _pick(['NOVALUES', 'TYPE', 'COUNT']) if rand() < 0.05;
        return \@c;
    },
    sub { ['HRANDFIELD', _key()] },
    sub { ['HRANDFIELD', _key(), _pick(\@COUNTS)] },
    sub { ['HRANDFIELD', _key(), _pick(\@COUNTS), 'WITHVALUES'] },
    sub { ['HRANDFIELD', _key(), '1', _pick(['WITHVALUE', 'x'])] },
    sub { ['HRANDFIELD', _key(), '-9223372036854775807', 'WITHVALUES'] },
    sub { ['HRANDFIELD', _key(), '-9223372036854775808'] },
    sub { ['HGET', _key()] },
    sub { ['HLEN'] },
    \&_collide,
);

my @SET_GEN = (
    sub { ['SADD', _key(), map { _member() } 1 .. _n(1, 4)] },
    sub { ['SADD', _key(), map { _member() } 1 .. _n(1, 4)] },
    sub { ['SADD', _key(), map { _int_member() } 1 .. _n(1, 4)] },
    sub {
        # bursts past 512 integers / 128 strings
        return ['SADD', _key(), map { _int_member() } 1 .. _n(50, 150)]
            if rand() < 0.5;
        return ['SADD', _key(), map { 's' . int(rand(400)) } 1 .. _n(20, 60)];
    },
    sub { ['SADD', _key(), '1', '1', 'a', 'a', '1'] },
    sub { ['SREM', _key(), map { _member() } 1 .. _n(1, 4)] },
    sub { ['SREM', _key(), map { _int_member() } 1 .. _n(10, 100)] },
    sub { ['SREM', _key(), map { 's' . int(rand(400)) } 1 .. _n(10, 60)] },
    sub { ['SCARD', _key()] },
    sub { ['SISMEMBER', _key(), _member()] },
    sub { ['SMISMEMBER', _key(), map { _member() } 1 .. _n(1, 4)] },
    sub { ['SMEMBERS', _key()] },
    sub { ['SRANDMEMBER', _key()] },
    sub { ['SRANDMEMBER', _key(), _pick(\@COUNTS)] },
    sub { ['SRANDMEMBER', _key(), '-9223372036854775808'] },
    sub { ['SRANDMEMBER', _key(), '1', '2'] },
    sub { ['SPOP', _key(), _pick(['100000', '0', '-1', 'x', '1.5'])] },
    sub { ['SPOP', _key(), '1', '2'] },
    sub { ['SMOVE', _key(), _key(), _member()] },
    sub { ['SDIFF', map { _key() } 1 .. _n(1, 3)] },
    sub { ['SINTER', map { _key() } 1 .. _n(1, 3)] },
    sub { ['SUNION', map { _key() } 1 .. _n(1, 3)] },
    sub { [_pick([qw(SDIFFSTORE SINTERSTORE SUNIONSTORE)]), _key(),
            map { _key() } 1 .. _n(1, 3)] },
    sub {
        my $n = _pick(['1', '2', '3', '0', '-1', 'x', '5']);
        my @c = ('SINTERCARD', $n, map { _key() } 1 .. _n(1, 3));
        push @c, 'LIMIT', _pick(['0', '1', '2', '5', '-1', 'x'])
            if rand() < 0.5;
        push @c, _pick(['LIMIT', 'FOO']) if rand() < 0.05;
        return \@c;
    },
    sub {
        my @c = ('SSCAN', _key(), _pick(['0', '0', '0', '3', '-1', 'x']));
        push @c, 'MATCH', _pick(\@PATTERNS) if rand() < 0.4;
        push @c, 'COUNT', _pick(['1000', '1000', '5', '0', 'x'])
            if rand() < 0.8;
        return \@c;
    },
    sub { ['SADD', _key()] },
    sub { ['SCARD'] },
    \&_collide,
);

sub hash_command {
    return _pick(\@HASH_GEN)->();
}

sub set_command {
    return _pick(\@SET_GEN)->();
}

sub compare_mode {
    my ($cmd) = @_;
    my $name = uc $cmd->[0];

    return 'map' if $name eq 'HGETALL';
    return 'scan' if $name eq 'HSCAN' || $name eq 'SSCAN';
    return 'unordered' if $name =~ /^(SMEMBERS|SINTER|SUNION|SDIFF|HKEYS|HVALS)$/;

    if ($name eq 'SPOP') {
        return 'unordered' if @$cmd == 3;
        return 'length';
    }

    return 'length' if $name eq 'SRANDMEMBER' || $name eq 'HRANDFIELD';

    return 'exact';
}

1;
