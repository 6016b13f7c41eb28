#!/usr/bin/perl

# Differential test of the aggregate types: random sequences mixing
# string, hash, set, list and sorted-set commands over one small key space
# (k0..k5, plus kl0..kl2 for lex ranges), so that types collide, go to a
# real redis-server and to kvmq's /cmd, and every reply must be the same
# once Kvmq::Diff::canon_pair has put both in one canonical form (scores
# as doubles, RESP2's flat WITHSCORES / HGETALL / HRANDFIELD WITHVALUES
# arrays as kvmq's pairs and objects; order ignored only where Redis
# defines none: Kvmq::DiffHash::compare_mode, ZSCAN and KEYS).  In the
# end both hold the same keys with the same types and contents.
#
# The seed is printed; KVMQ_SEED=N replays a run, KVMQ_DIFF_N sets the
# number of commands per type (default 6000: 30000 in all).

use strict;
use warnings;

use Test::More;

use lib 't/lib';
use Kvmq::Test qw(json_encode);
use Kvmq::Resp;
use Kvmq::Diff qw(canon_pair err_status string_command);
use Kvmq::DiffHash qw(hash_command set_command compare_mode);
use Kvmq::DiffList qw(list_command zset_command);
use MIME::Base64 qw(encode_base64);

my $t = Kvmq::Test->new->skip_unless_module;

$t->conf(<<'EOF')->run;
load_module %%MODULE%%;
worker_processes 2;

http {
    kvmq_zone main size=64m;
    keepalive_requests 1000000;

    server {
        listen 127.0.0.1:%%PORT%%;
        location /kvmq/ { kvmq_api main; }
    }
}
EOF

my $seed = $ENV{KVMQ_SEED} // (time() ^ ($$ << 8)) % 1000000;
my $per = $ENV{KVMQ_DIFF_N} // 6000;
srand($seed);

my %GEN = (
    string => \&string_command,
    hash   => \&hash_command,
    set    => \&set_command,
    list   => \&list_command,
    zset   => \&zset_command,
);
my @TYPES = sort keys %GEN;
my $n = $per * @TYPES;

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

sub mode {
    my ($cmd) = @_;
    my $name = uc $cmd->[0];
    return 'unordered' if $name eq 'KEYS';
    return 'scan' if $name eq 'ZSCAN';
    return compare_mode($cmd);
}

sub show {
    my ($cmd) = @_;
    return join(' ', map { my $a = $_; $a =~ s/([^\x21-\x7e])/
        sprintf('\\x%02x', ord $1)/ge; length $a ? $a : '""' } @$cmd);
}

# one command to both; '' when the replies agree, else the report
sub run_one {
    my ($cmd) = @_;
    my $r = kvmq(@$cmd);
    my ($want, $got) = canon_pair($cmd, $redis->cmd(@$cmd), $r->json,
        mode($cmd));

    # an error's HTTP status must be its code's
    if ($got =~ /^E:(\w+)$/ && $r->status != err_status($1)) {
        $got .= ' (HTTP ' . $r->status . ')';
    }

    return '' if $got eq $want || close_enough($cmd->[0], $got, $want);
    return sprintf("%s\n  redis: %s\n  kvmq:  %s", show($cmd), $want, $got);
}

my (%same, %ran, @fail);

for my $i (1 .. $n) {
    my $type = $TYPES[int(rand(@TYPES))];
    my $cmd = $GEN{$type}->();
    $ran{$type}++;

    my $f = run_one($cmd);

    if ($f eq '') {
        $same{$type}++;
        next;
    }

    push @fail, "#$i ($type) $f";
    last if @fail >= 10;
}

for my $type (@TYPES) {
    is($same{$type} // 0, $ran{$type} // 0,
       ($ran{$type} // 0) . " random $type commands: same replies as redis");
}

diag(join("\n", @fail)) if @fail;

# and the same data in the end: keys, types, contents
my ($want, $got) = canon_pair(['KEYS', '*'], $redis->cmd('KEYS', '*'),
    kvmq('KEYS', '*')->json, 'unordered');
is($got, $want, 'the same keys');

my %READ = (
    string => ['GET'],
    hash   => ['HGETALL'],
    list   => ['LRANGE', '0', '-1'],
    set    => ['SMEMBERS'],
    zset   => ['ZRANGE', '0', '-1', 'WITHSCORES'],
);

for my $k ((map { "k$_" } 0 .. 5), (map { "kl$_" } 0 .. 2)) {
    my $type = $redis->cmd('TYPE', $k)->[1];
    my $f = run_one(['TYPE', $k]);
    is($f, '', "$k: the same type ($type)");
    next unless $READ{$type};
    my ($name, @rest) = @{ $READ{$type} };
    is(run_one([$name, $k, @rest]), '', "$k: the same $type");
}

$conn->close;
$t->done;
