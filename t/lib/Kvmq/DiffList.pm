package Kvmq::DiffList;

# Random list and sorted-set commands for the differential test against a
# real redis-server (see Kvmq::Diff for the harness side: canonical forms,
# seeds).  Commands are arrayrefs over the key space k0..k5 that the
# string generator uses too, so types collide and WRONGTYPE paths run.
#
# What the generators avoid, because Redis itself gives no single answer:
#
#   - lex ranges with real bounds on sets whose members have different
#     scores (undefined in Redis: its answer depends on the skiplist's
#     random levels).  On k0..k5 lex commands use only "-" and "+"; the
#     real bounds go to kl0..kl2, which only ever get score 0.
#   - ZSCAN order: a skiplist set is scanned in hash-table order.  The
#     generator asks for COUNT 1000 (the whole set in one call for the
#     sizes made here); the harness must compare the items as a set.
#
# Replies differ in shape, not content, where kvmq follows API.md:
# WITHSCORES, ZPOPMIN/ZPOPMAX and ZSCAN items are [member, score] pairs
# with the score a number (Redis RESP2: a flat array, scores as strings),
# ZSCORE/ZINCRBY/ZMSCORE scores are numbers.  The harness pairs Redis'
# flat arrays and compares scores as numbers.

use strict;
use warnings;

use Exporter 'import';

our @EXPORT_OK = qw(list_command zset_command);

my @KEYS = map { "k$_" } 0 .. 5;
my @LEX_KEYS = map { "kl$_" } 0 .. 2;

my @ITEMS = ('a', 'b', 'c', 'x', '', '0', '1', '-5', 'hello world',
    "bin\x00\xff", "\xc3\xa9t\xc3\xa9", 'a' x 70);
my @INDEXES = ('0', '1', '-1', '2', '-2', '5', '-100', '100', '238', '239',
    '240', '-239', 'x', '1.5');
my @SCORES = ('0', '1', '-1', '2.5', '-inf', '+inf', 'inf', '3', '1e3',
    '0.5', '-0', 'x', '10', '(1', 'nan', '');
my @BOUNDS = ('-inf', '+inf', '(-inf', '(+inf', '0', '1', '(1', '2.5', '(3',
    '-1', '10', 'x', '(', '1e400', '');
my @COUNTS = ('0', '1', '2', '3', '100', '-1', 'x');

sub _pick { return $_[0]->[int(rand(@{ $_[0] }))] }
sub _key { return _pick(\@KEYS) }

sub _member {
    my $r = rand();
    return 'm' . int(rand(200)) if $r < 0.5;
    return _pick(\@ITEMS);
}

# items of 16 to 40 bytes, so that lists span several 4 KB nodes
sub _long_item { return 'item' . int(rand(300)) . ('_' x int(rand(28))) }

sub _score {
    return int(rand(41)) - 20 if rand() < 0.6;
    return _pick(\@SCORES);
}

sub _lex_bound {
    my $r = rand();
    return _pick(['-', '+']) if $r < 0.3;
    return _pick(['[', '(']) . _pick(['a', 'b', 'c', 'm1', 'm5', 'x', ''])
        if $r < 0.9;
    return _pick(['a', '[', '(', '-x']);
}


# ---- lists --------------------------------------------------------------

my @LIST_GEN = (
    sub { ['LPUSH', _key(), map { _member() } 1 .. 1 + int(rand(5))] },
    sub { ['RPUSH', _key(), map { _member() } 1 .. 1 + int(rand(5))] },
    sub { ['RPUSH', _key(), map { _long_item() } 1 .. 100 + int(rand(150))] },
    sub { [_pick([qw(LPUSHX RPUSHX)]), _key(), _member()] },
    sub { ['LLEN', _key()] },
    sub { ['LINDEX', _key(), _pick(\@INDEXES)] },
    sub { ['LSET', _key(), _pick(\@INDEXES), _member()] },
    sub {
        ['LINSERT', _key(), _pick([qw(BEFORE AFTER after MIDDLE)]),
            _member(), _member()];
    },
    sub { ['LREM', _key(), _pick(['0', '1', '-1', '2', '-2', 'x']),
            _member()] },
    sub {
        my @c = (_pick([qw(LPOP RPOP)]), _key());
        push @c, _pick(\@COUNTS) if rand() < 0.5;
        push @c, '1' if rand() < 0.03;
        return \@c;
    },
    sub { ['LRANGE', _key(), _pick(\@INDEXES), _pick(\@INDEXES)] },
    sub { ['LRANGE', _key(), '0', '-1'] },
    sub { ['LTRIM', _key(), _pick(\@INDEXES), _pick(\@INDEXES)] },
    sub {
        my @c = ('LPOS', _key(), _member());
        for (1 .. int(rand(4))) {
            push @c, _pick([qw(RANK COUNT MAXLEN)]),
                _pick(['0', '1', '-1', '2', '-2', '10', 'x']);
        }
        push @c, 'RANK' if rand() < 0.03;
        return \@c;
    },
    sub { ['RPOPLPUSH', _key(), _key()] },
    sub {
        ['LMOVE', _key(), _key(), _pick([qw(LEFT RIGHT left UP)]),
            _pick([qw(LEFT RIGHT)])];
    },
    sub { ['TYPE', _key()] },
    sub { ['DEL', _key()] },
);

sub list_command {
    return _pick(\@LIST_GEN)->();
}


# ---- sorted sets --------------------------------------------------------

sub _zrange {
    my ($key) = @_;
    my $type = _pick(['', 'BYSCORE', 'BYLEX']);
    my @c = ('ZRANGE', $key);

    if ($type eq 'BYLEX') {
        push @c, @{ _pick([['-', '+'], ['+', '-']]) };
    } elsif ($type eq 'BYSCORE') {
        push @c, _pick(\@BOUNDS), _pick(\@BOUNDS);
    } else {
        push @c, _pick(\@INDEXES), _pick(\@INDEXES);
    }

    push @c, $type if $type ne '';
    push @c, 'REV' if rand() < 0.3;
    push @c, 'LIMIT', _pick(['0', '1', '3', '-1', 'x']),
        _pick(['1', '2', '-1', '0', '10']) if rand() < 0.3;
    push @c, 'WITHSCORES' if rand() < 0.5;
    return \@c;
}

my @ZSET_GEN = (
    sub {
        my @c = ('ZADD', _key());
        for my $o (qw(NX XX GT LT CH INCR)) {
            push @c, $o if rand() < 0.1;
        }
        push @c, map { (_score(), _member()) } 1 .. 1 + int(rand(4));
        return \@c;
    },
    sub {
        ['ZADD', _key(),
            map { (int(rand(101)) - 50, 'm' . int(rand(200))) }
                1 .. 20 + int(rand(110))];
    },
    sub { ['ZINCRBY', _key(), _score(), _member()] },
    sub { ['ZADD', _key(), 'INCR', _pick(['inf', '-inf', '1']), _member()] },
    sub { ['ZCARD', _key()] },
    sub { ['ZSCORE', _key(), _member()] },
    sub { ['ZMSCORE', _key(), map { _member() } 1 .. 1 + int(rand(3))] },
    sub { [_pick([qw(ZRANK ZREVRANK)]), _key(), _member()] },
    sub { _zrange(_key()) },
    sub { _zrange(_key()) },
    sub {
        my @c = (_pick([qw(ZRANGEBYSCORE ZREVRANGEBYSCORE)]), _key(),
            _pick(\@BOUNDS), _pick(\@BOUNDS));
        push @c, 'WITHSCORES' if rand() < 0.5;
        push @c, 'LIMIT', _pick(['0', '2', '-1']), _pick(['1', '-1', '5'])
            if rand() < 0.3;
        return \@c;
    },
    sub { ['ZREVRANGE', _key(), _pick(\@INDEXES), _pick(\@INDEXES),
            (rand() < 0.5 ? ('WITHSCORES') : ())] },
    sub { [_pick([qw(ZRANGEBYLEX ZREVRANGEBYLEX)]), _key(),
            @{ _pick([['-', '+'], ['+', '-']]) }] },
    sub { ['ZCOUNT', _key(), _pick(\@BOUNDS), _pick(\@BOUNDS)] },
    sub { ['ZLEXCOUNT', _key(), '-', '+'] },
    sub { ['ZREM', _key(), map { _member() } 1 .. 1 + int(rand(3))] },
    sub { ['ZREMRANGEBYRANK', _key(), _pick(\@INDEXES), _pick(\@INDEXES)] },
    sub { ['ZREMRANGEBYSCORE', _key(), _pick(\@BOUNDS), _pick(\@BOUNDS)] },
    sub {
        my @c = (_pick([qw(ZPOPMIN ZPOPMAX)]), _key());
        push @c, _pick(\@COUNTS) if rand() < 0.5;
        return \@c;
    },
    sub {
        my $op = _pick([qw(ZUNIONSTORE ZINTERSTORE ZDIFFSTORE)]);
        my $n = 1 + int(rand(3));
        my @c = ($op, _key(), _pick([$n, $n, $n, 0, $n + 1, 'x']),
            map { _key() } 1 .. $n);
        if ($op ne 'ZDIFFSTORE' || rand() < 0.05) {
            push @c, 'WEIGHTS', map { _pick(['1', '2', '0.5', '-1', '0', 'x']) }
                1 .. $n if rand() < 0.4;
            push @c, 'AGGREGATE', _pick([qw(SUM MIN MAX max AVG)])
                if rand() < 0.4;
        }
        return \@c;
    },
    sub { ['ZSCAN', _key(), '0', 'COUNT', '1000',
            (rand() < 0.3 ? ('MATCH', _pick(['m1*', '*', 'a?', 'x'])) : ())] },
    sub { ['SADD', _key(), map { _member() } 1 .. 1 + int(rand(3))] },
    sub { ['TYPE', _key()] },
    sub { ['DEL', _key()] },

    # real lex bounds, only on kl0..kl2 where every score is 0
    sub {
        ['ZADD', _pick(\@LEX_KEYS),
            map { ('0', _member()) } 1 .. 1 + int(rand(30))];
    },
    sub {
        my @c = ('ZRANGE', _pick(\@LEX_KEYS), _lex_bound(), _lex_bound(),
            'BYLEX');
        push @c, 'REV' if rand() < 0.3;
        push @c, 'LIMIT', _pick(['0', '1', '-1']), _pick(['1', '5', '-1'])
            if rand() < 0.3;
        return \@c;
    },
    sub { [_pick([qw(ZRANGEBYLEX ZREVRANGEBYLEX)]), _pick(\@LEX_KEYS),
            _lex_bound(), _lex_bound()] },
    sub { ['ZLEXCOUNT', _pick(\@LEX_KEYS), _lex_bound(), _lex_bound()] },
    sub { ['ZREMRANGEBYLEX', _pick(\@LEX_KEYS), _lex_bound(),
            _lex_bound()] },
    sub { ['ZRANGE', _pick(\@LEX_KEYS), '0', '-1'] },
);

sub zset_command {
    return _pick(\@ZSET_GEN)->();
}

1;
