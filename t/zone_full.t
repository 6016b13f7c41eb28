#!/usr/bin/perl

# Small zones (1m) filled with every kind of write, under each eviction
# policy.  What must hold:
#
#   - every write either succeeds or fails with 507 NOMEM, nothing else;
#   - under noeviction a failed write changes nothing (the key reads the
#     same before and after), under the other policies writes go on by
#     evicting;
#   - the zone never reports more used than its size, every key left is
#     readable, and FLUSHALL gives back every block: used returns to what
#     the empty zone used;
#   - the error log stays clean (no alert, no crash).

use strict;
use warnings;

use Test::More;

use lib 't/lib';
use Kvmq::Test qw(json_encode);

my $t = Kvmq::Test->new->skip_unless_module;

$t->conf(<<'EOF')->run;
load_module %%MODULE%%;
worker_processes 2;

http {
    kvmq_zone noev size=1m eviction=noeviction;
    kvmq_zone alru size=1m eviction=allkeys-lru;
    kvmq_zone vlru size=1m eviction=volatile-lru;
    kvmq_zone alfu size=1m eviction=allkeys-lfu;
    client_max_body_size 8m;
    keepalive_requests 1000000;

    server {
        listen 127.0.0.1:%%PORT%%;
        location /noev/ { kvmq_api noev; }
        location /alru/ { kvmq_api alru; }
        location /vlru/ { kvmq_api vlru; }
        location /alfu/ { kvmq_api alfu; }
    }
}
EOF

my $seed = $ENV{KVMQ_SEED} // (time() ^ $$) % 100000;
srand($seed);
diag("seed $seed");

my $conn = $t->connect;

sub cmd {
    my ($zone, @argv) = @_;
    return $conn->request('POST', "/$zone/cmd",
        ['Content-Type' => 'application/json'], json_encode(\@argv));
}

sub stats {
    my ($zone) = @_;
    return $conn->request('GET', "/$zone/stats")->json;
}

my @KEYS = map { "key$_" } 0 .. 39;
sub key { $KEYS[int rand @KEYS] }
sub blob { 'x' x (1 + int(rand() < 0.2 ? rand 200000 : rand 3000)) }

# one random write: [method-and-path-or-cmd..., the keys it may change]
sub write_op {
    my ($zone) = @_;
    my $k = key();
    my @ops = (
        sub { (['SET', $k, blob()], $k) },
        sub { (['SET', $k, blob(), 'EX', 1000], $k) },
        sub { (['SETEX', $k, 1000, blob()], $k) },
        sub { (['APPEND', $k, blob()], $k) },
        sub { (['PREPEND', $k, blob()], $k) },
        sub { (['SETRANGE', $k, int rand 300000, 'abc'], $k) },
        sub { (['SETBIT', $k, int rand 2000000, 1], $k) },
        sub { (['INCR', "n$k"], "n$k") },
        sub { (['INCRBYFLOAT', "f$k", '1.5'], "f$k") },
        sub { my $k2 = key(); (['MSET', $k, blob(), $k2, blob()], $k, $k2) },
        sub { my $k2 = key(); (['MSETNX', $k, blob(), $k2, blob()], $k, $k2) },
        sub { (['GETSET', $k, blob()], $k) },
        sub { my $k2 = key(); (['RENAME', $k, $k2], $k, $k2) },
        sub { (['ADD', $k, blob()], $k) },
        sub { (['REPLACE', $k, blob()], $k) },
        sub { (['BITOP', 'OR', $k, key(), key()], $k) },
        sub { (['PUT', $k, blob()], $k) },
        sub { (['POSTAPPEND', $k, blob()], $k) },
        sub {
            my $g = cmd($zone, 'GETS', $k)->json;
            my $cas = ref $g eq 'ARRAY' ? $g->[1] : 1;
            (['CAS', $k, blob(), $cas], $k);
        },
    );
    return $ops[int rand @ops]->();
}

sub run_op {
    my ($zone, $op) = @_;
    my ($name, $k, @rest) = @$op;
    if ($name eq 'PUT') {
        return $conn->request('PUT', "/$zone/kv/$k",
            ['Content-Type' => 'text/plain'], $rest[0]);
    }
    if ($name eq 'POSTAPPEND') {
        return $conn->request('POST', "/$zone/kv/$k/append", [], $rest[0]);
    }
    return cmd($zone, @$op);
}

sub snapshot {
    my ($zone, @keys) = @_;
    return join "\0", map {
        my $r = cmd($zone, 'GET', $_);
        my $ttl = cmd($zone, 'PTTL', $_)->body;
        $ttl = $ttl > 0 ? 'ttl' : $ttl;
        $r->status . ':' . length($r->body) . ':'
            . substr($r->body, 0, 64) . ":$ttl";
    } @keys;
}

for my $zone (qw(noev alru vlru alfu)) {
    my $empty = stats($zone)->{zone}{used};
    my ($ok, $nomem, $other, $changed, @odd) = (0, 0, 0, 0);

    for my $i (1 .. 600) {
        my ($op, @keys) = write_op($zone);
        my $before = $zone eq 'noev' ? snapshot($zone, @keys) : '';
        my $r = run_op($zone, $op);
        my $s = $r->status;

        if ($s == 200 || $s == 201 || ($s == 404 && $op->[0] eq 'RENAME')
            || ($s == 412) || ($s == 400 && $op->[0] eq 'INCRBYFLOAT')
            || ($s == 409))
        {
            $ok++;
        } elsif ($s == 507) {
            $nomem++;
            $changed++ if $zone eq 'noev'
                && snapshot($zone, @keys) ne $before;
        } else {
            $other++;
            push @odd, "$op->[0]: $s " . substr($r->body, 0, 100)
                if @odd < 5;
        }

        # the volatile keys volatile-lru may evict
        cmd($zone, 'EXPIRE', $keys[0], 100000) if $zone eq 'vlru';
    }

    is($other, 0, "$zone: every write succeeded or got 507")
        or diag(join "\n", @odd);
    ok($ok > 0, "$zone: $ok writes succeeded, $nomem got NOMEM");

    my $st = stats($zone);
    if ($zone eq 'noev') {
        ok($nomem > 0, 'noeviction: the zone filled up');
        is($changed, 0, 'noeviction: no failed write changed its keys');
        is($st->{evicted}, 0, 'noeviction: nothing evicted');
    } else {
        ok($st->{evicted} > 0, "$zone: evicted $st->{evicted} keys");
    }

    ok($st->{zone}{used} <= $st->{zone}{size},
        "$zone: used $st->{zone}{used} <= size $st->{zone}{size}");

    my $keys = cmd($zone, 'KEYS', '*')->json;
    my $unreadable = grep {
        my $s = cmd($zone, 'GET', $_)->status;
        $s != 200 && $s != 409;
    } @$keys;
    is($unreadable, 0, "$zone: all " . scalar(@$keys) . " keys readable");

    is(cmd($zone, 'FLUSHALL')->json, 'OK', "$zone: FLUSHALL");
    is(stats($zone)->{zone}{used}, $empty,
        "$zone: used back to the empty zone's $empty bytes");
    is(cmd($zone, 'SET', 'after', 'ok')->json, 'OK', "$zone: writes again");
}

$conn->close;
$t->done;
