#!/usr/bin/perl

# GET /stats: zone size/used/free, keys, TTLs, hits and misses, commands
# by name, the expiry sweep and eviction as the counters see them, and
# the $kvmq_command / $kvmq_key variables.

use strict;
use warnings;

use JSON::PP ();
use MIME::Base64 qw(encode_base64);
use Test::More;
use Time::HiRes qw(sleep);

use lib 't/lib';
use Kvmq::Test qw(json_decode json_encode);

my $t = Kvmq::Test->new->skip_unless_module;
$t->conf(<<'EOF')->run;
load_module %%MODULE%%;
worker_processes 2;

http {
    kvmq_zone main size=4m;
    kvmq_zone lru size=1m eviction=allkeys-lru;
    log_format kvmq '$request_method $kvmq_command [$kvmq_key] $status';
    server {
        listen 127.0.0.1:%%PORT%%;
        client_max_body_size 1m;
        location /kvmq/ {
            kvmq_api main;
            access_log %%PREFIX%%/kvmq.log kvmq;
        }
        location /lru/ { kvmq_api lru; }
    }
}
EOF

sub stats { json_decode($t->http(GET => "/$_[0]/stats")->body) }

my $s = stats('kvmq');
is_deeply([sort keys %$s],
          [sort qw(zone keys keys_with_ttl expired evicted hits misses
                   buckets rehashing commands_total commands worker
                   pubsub)],
          'the fields of /stats');
is_deeply([sort keys %{$s->{pubsub}}],
          [sort qw(channels patterns subscribers messages message_bytes
                   published history history_ttl_ms)],
          'the fields of pubsub');
is_deeply([sort keys %{ $s->{zone} }], [qw(eviction free name size used)],
          'the fields of zone');
is($s->{zone}{name}, 'main', 'zone name');
is($s->{zone}{size}, 4 * 1024 * 1024, 'zone size');
ok($s->{zone}{used} > 0 && $s->{zone}{used} < $s->{zone}{size},
   "zone used ($s->{zone}{used})");
is($s->{zone}{used} + $s->{zone}{free}, $s->{zone}{size},
   'used + free = size');
is($s->{keys}, 0, 'no keys yet');
ok(JSON::PP::is_bool($s->{rehashing}) && !$s->{rehashing},
   'rehashing is a boolean (false)');
is_deeply([sort keys %{ $s->{worker} }], [qw(pid slot workers)],
          'the fields of worker');
is($s->{worker}{workers}, 2, 'two workers');
ok(grep({ $_ == $s->{worker}{pid} } $t->worker_pids),
   'worker pid is one of the workers');

# keys, TTLs, hits, misses, commands by name
my $used0 = $s->{zone}{used};
$t->http(PUT => "/kvmq/kv/k$_", {}, 'x' x 1000) for 1 .. 20;
$t->http(PUT => "/kvmq/kv/t$_?ex=100", {}, 'x') for 1 .. 5;
$t->http(GET => '/kvmq/kv/k1') for 1 .. 3;
$t->http(GET => '/kvmq/kv/nope') for 1 .. 2;
$t->http(POST => '/kvmq/cmd', {}, '[["INCR","c"],["INCR","c"]]');
$s = stats('kvmq');
is($s->{keys}, 26, 'keys');
is($s->{keys_with_ttl}, 5, 'keys_with_ttl');
is($s->{hits}, 3, 'hits');
is($s->{misses}, 2, 'misses');
is($s->{commands}{SET}, 25, 'commands: SET');
is($s->{commands}{GET}, 5, 'commands: GET');
is($s->{commands}{INCR}, 2, 'commands: INCR');
ok(!exists $s->{commands}{DEL}, 'commands never run are not listed');
is($s->{commands_total}, 32, 'commands_total');
ok($s->{zone}{used} > $used0 + 20_000, 'used grew with the values');

# the expiry sweep reclaims keys nobody reads
$t->http(PUT => "/kvmq/kv/short$_?px=50", {}, 'x') for 1 .. 10;
is(stats('kvmq')->{keys_with_ttl}, 15, 'ten more keys with a TTL');
sleep 0.5;
$s = stats('kvmq');
is($s->{expired}, 10, 'the sweep expired them without any access');
is($s->{keys_with_ttl}, 5, 'keys_with_ttl is back to 5');
is($s->{keys}, 26, 'keys is back to 26');

# eviction
my $chunk = 'e' x 20_000;
my $ok = 0;
for my $i (1 .. 100) {
    $ok++ if $t->http(PUT => "/lru/kv/e$i", {}, $chunk)->status == 201;
}
is($ok, 100, 'an allkeys-lru zone takes every write');
$s = stats('lru');
ok($s->{evicted} > 0, "evicted ($s->{evicted})");
is($s->{keys} + $s->{evicted}, 100, 'keys + evicted = writes');
is($s->{zone}{eviction}, 'allkeys-lru', 'eviction policy');

# /stats is read-only
my $r = $t->http(POST => '/kvmq/stats');
is($r->status, 405, 'POST /stats: 405');
is($r->header('Allow'), 'GET, HEAD', 'Allow: GET, HEAD');
is($t->http(HEAD => '/kvmq/stats')->status, 200, 'HEAD /stats');

# $kvmq_command and $kvmq_key in the access log
$t->http(PUT => '/kvmq/kv/logged%2Fkey', {}, 'v');
$t->http(GET => '/kvmq/cmd/INCRBY/ctr/5');
$t->http(POST => '/kvmq/cmd', {}, '["mget","a","b"]');
$t->http(POST => '/kvmq/cmd', {}, '[["PING"],["PING"]]');
$t->http(POST => '/kvmq/kv/ctr/incr');
$t->http(GET => '/kvmq/nothing');
$t->stop;
my @log = split /\n/, $t->read_file('kvmq.log');
my %want = map { $_ => 1 } (
    'PUT SET [logged/key] 201',
    'GET INCRBY [ctr] 200',
    'POST MGET [a] 200',
    'POST BATCH [-] 200',
    'POST INCRBY [ctr] 200',
    'GET - [-] 404',
);
my %got = map { $_ => 1 } grep { $want{$_} } @log;
is(scalar(keys %got), scalar(keys %want),
   '$kvmq_command and $kvmq_key are logged') or diag join "\n", @log;

$t->done;
