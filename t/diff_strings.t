#!/usr/bin/perl

# Differential test: random sequences of string and key commands over a
# small keyspace go to a real redis-server and to kvmq's /cmd, and every
# reply must be the same (Kvmq::Diff puts both in one canonical form).
# The seed is printed; KVMQ_SEED=N replays a run, KVMQ_DIFF_N sets its
# length.

use strict;
use warnings;

use Test::More;

use lib 't/lib';
use Kvmq::Test qw(json_encode);
use Kvmq::Resp;
use Kvmq::Diff qw(canon_resp canon_json string_command);
use MIME::Base64 qw(encode_base64);

my $t = Kvmq::Test->new->skip_unless_module;

$t->conf(<<'EOF')->run;
load_module %%MODULE%%;
worker_processes 2;

http {
    kvmq_zone main size=16m;
    keepalive_requests 1000000;

    server {
        listen 127.0.0.1:%%PORT%%;
        location /kvmq/ { kvmq_api main; }
    }
}
EOF

my $seed = $ENV{KVMQ_SEED} // (time() ^ ($$ << 8)) % 1000000;
my $n = $ENV{KVMQ_DIFF_N} // 6000;
srand($seed);
diag("seed $seed (KVMQ_SEED=$seed replays this run), $n commands");

my $redis = Kvmq::Resp->new(port => $t->redis_port);
my $conn = $t->connect;

# every argument base64, so that any byte goes through as it is
sub kvmq {
    my (@argv) = @_;
    my $r = $conn->request('POST', '/kvmq/cmd?encoding=base64',
        ['Content-Type' => 'application/json'],
        json_encode([map { encode_base64($_, '') } @argv]));
    die 'kvmq: ' . ($r->error // $r->status) . "\n" if $r->status == 0;
    return $r;
}

# replies that may differ by the time between the two calls
sub close_enough {
    my ($cmd, $a, $b) = @_;
    return 0 unless $cmd =~ /^P?TTL$/i;
    my ($x) = $a =~ /^i:(\d+)$/ or return 0;
    my ($y) = $b =~ /^i:(\d+)$/ or return 0;
    return abs($x - $y) <= ($cmd =~ /^P/i ? 1500 : 1);
}

sub sorted_array {
    my ($c) = @_;
    return $c unless $c =~ /^\[(.*)\]$/;
    return '[' . join(',', sort split /,/, $1) . ']';
}

my ($same, @fail) = (0);

for my $i (1 .. $n) {
    my $cmd = string_command();
    my $want = canon_resp($redis->cmd(@$cmd));
    my $r = kvmq(@$cmd);
    my $got = canon_json($r->json, 1);

    if ($cmd->[0] eq 'KEYS') {
        $want = sorted_array($want);
        $got = sorted_array($got);
    }

    # an error's HTTP status must match its code
    if ($got =~ /^E:/ && $r->status == 200) {
        $got .= ' (HTTP 200)';
    }

    if ($got eq $want || close_enough($cmd->[0], $got, $want)) {
        $same++;
        next;
    }

    push @fail, sprintf("#%d %s\n  redis: %s\n  kvmq:  %s", $i,
        join(' ', map { my $a = $_; $a =~ s/([^\x21-\x7e])/
            sprintf('\\x%02x', ord $1)/ge; $a } @$cmd), $want, $got);
    last if @fail >= 10;
}

is($same, $n, "$n random string/key commands: same replies as redis")
    or diag(join("\n", @fail));

# and the same data in the end
my $keys_redis = canon_resp($redis->cmd('KEYS', '*'));
my $keys_kvmq = canon_json(kvmq('KEYS', '*')->json, 1);
is(sorted_array($keys_kvmq), sorted_array($keys_redis), 'same keys');

for my $k (map { "k$_" } 0 .. 5) {
    is(canon_json(kvmq('GET', $k)->json, 1), canon_resp($redis->cmd('GET', $k)),
        "same value of $k");
}

$conn->close;
$t->done;
