#!/usr/bin/perl

# Zones: kvmq_zone / kvmq_api / limit directives checked by nginx -t with
# messages naming the bad value, zones as separate keyspaces, data kept
# across "nginx -s reload", a size change on reload reported, and a worker
# killed while holding the zone lock not wedging the zone.

use strict;
use warnings;

use Mojo::IOLoop;
use Mojo::UserAgent;
use MIME::Base64 qw(encode_base64);
use Test::More;

use lib 't/lib';
use Kvmq::Test qw(json_decode json_encode);

my $t = Kvmq::Test->new->skip_unless_module;

# a whole nginx.conf around an http block
sub full {
    my ($http) = @_;
    return "load_module %%MODULE%%;\nworker_processes 2;\n\nhttp {\n$http}\n";
}

# nginx -t rejects every bad directive with a line naming the bad value
my @bad = (
    ['kvmq_zone main size=1x;', 'invalid zone size "size=1x"'],
    ['kvmq_zone main size=1m eviction=lru;', 'invalid eviction policy "lru"'],
    ['kvmq_zone main size=1m persist=/tmp;',
     'invalid parameter "persist=/tmp"'],
    ['kvmq_zone main size=4k;', 'zone "main" is too small'],
    ['kvmq_zone main;', '"kvmq_zone" must have "size" parameter'],
    ['kvmq_zone size=1m;', 'invalid zone name "size=1m"'],
    ['kvmq_zone main size=1m; kvmq_zone main size=1m;',
     'duplicate kvmq_zone "main"'],
    ['kvmq_zone main size=1m; kvmq_zone main size=2m;',
     'conflicts with already declared size'],
    ['kvmq_zone main size=1m; kvmq_max_key 0;',
     '"kvmq_max_key" must be greater than 0'],
    ['kvmq_zone main size=1m; kvmq_max_value lots;',
     '"kvmq_max_value" directive invalid value'],
    ['kvmq_zone main size=1m; kvmq_readonly maybe;',
     'invalid value "maybe" in "kvmq_readonly" directive'],
);

for my $b (@bad) {
    my ($zone, $msg) = @$b;
    my ($rc, $out) = $t->test_config(full(<<"HTTP"));
    $zone
    server {
        listen 127.0.0.1:%%PORT%%;
        location /kvmq/ { kvmq_api main; }
    }
HTTP
    isnt($rc, 0, "nginx -t fails: $zone");
    like($out, qr/\[emerg\].*\Q$msg\E/, "... saying: $msg");
}

my @bad_api = (
    ['location /kvmq/ { kvmq_api other; }',
     qr/unknown kvmq_zone "other" in \S+\.conf:\d+/],
    ['location /kvmq/ { kvmq_api main; kvmq_api main; }',
     qr/"kvmq_api" directive is duplicate/],
    ['location ~ ^/kvmq/ { kvmq_api main; }',
     qr/"kvmq_api" cannot be used in a regex location/],
    ['location @kvmq { kvmq_api main; }',
     qr/"kvmq_api" cannot be used in a named location/],
    ['kvmq_zone inner size=1m;', qr/"kvmq_zone" directive is not allowed here/],
    ['kvmq_api main;', qr/"kvmq_api" directive is not allowed here/],
);

for my $b (@bad_api) {
    my ($loc, $re) = @$b;
    my ($rc, $out) = $t->test_config(full(<<"HTTP"));
    kvmq_zone main size=1m;
    server {
        listen 127.0.0.1:%%PORT%%;
        $loc
    }
HTTP
    isnt($rc, 0, "nginx -t fails: $loc");
    like($out, $re, "... saying why");
}

{
    my ($rc, $out) = $t->test_config(full(<<'HTTP'));
    server {
        listen 127.0.0.1:%%PORT%%;
        location /kvmq/ { kvmq_api late; }
    }
    kvmq_zone late size=1m eviction=allkeys-lfu;
    kvmq_max_key 2k;
    kvmq_max_value 16m;
HTTP
    is($rc, 0, 'a zone may be declared after the location using it')
        or diag $out;
}

# two zones are two keyspaces
my $conf = <<'HTTP';
    kvmq_zone main size=2m eviction=noeviction;
    kvmq_zone other size=1m;
    server {
        listen 127.0.0.1:%%PORT%%;
        location /kvmq/ { kvmq_api main; }
        location /other/ { kvmq_api other; }
    }
HTTP

$t->conf(full($conf))->run;

$t->http(PUT => "/kvmq/kv/k$_", {}, "v$_") for 1 .. 50;
is($t->http(GET => '/kvmq/kv/k1')->body, 'v1', 'zone main has k1');
is($t->http(GET => '/other/kv/k1')->status, 404, 'zone other does not');
$t->http(PUT => '/other/kv/only', {}, 'here');
is($t->http(GET => '/kvmq/kv/only')->status, 404, 'and the other way round');
my $s = json_decode($t->http(GET => '/kvmq/stats')->body);
is($s->{zone}{name}, 'main', 'stats name the zone');
is($s->{zone}{size}, 2 * 1024 * 1024, 'zone size');
is($s->{zone}{eviction}, 'noeviction', 'eviction policy');
is($s->{keys}, 50, 'keys of main');
is(json_decode($t->http(GET => '/other/stats')->body)->{keys}, 1,
   'keys of other');

# a reload with the same zones keeps the data in every worker
ok($t->reload, 'reload with the same configuration');
for my $i (1 .. 10) {
    is($t->get("/kvmq/kv/k$i")->body, "v$i", "k$i survived the reload");
}
is($t->http(GET => '/other/kv/only')->body, 'here',
   'the other zone survived too');

# a reload may change the eviction policy of a kept zone
(my $conf2 = $conf) =~ s/eviction=noeviction/eviction=allkeys-lru/;
ok($t->reload(conf => full($conf2)), 'reload with another eviction policy');
$s = json_decode($t->http(GET => '/kvmq/stats')->body);
is($s->{zone}{eviction}, 'allkeys-lru', 'the new policy is in force');
is($s->{keys}, 50, 'the data is kept');

# a reload that changes a zone's size loses its data, and says so
(my $conf3 = $conf2) =~ s/size=2m/size=3m/;
ok($t->reload(conf => full($conf3)), 'reload with a bigger zone');
like($t->error_log,
     qr/\[warn\].*kvmq_zone "main" size changed from 2097152 to 3145728: its data is lost/,
     'the size change is logged');
is($t->http(GET => '/kvmq/kv/k1')->status, 404, 'the resized zone is empty');
is($t->http(GET => '/other/kv/only')->body, 'here',
   'an unchanged zone kept its data');
$s = json_decode($t->http(GET => '/kvmq/stats')->body);
is($s->{zone}{size}, 3 * 1024 * 1024, 'the new size');
is($t->http(PUT => '/kvmq/kv/k1', {}, 'new')->status, 201,
   'the new zone takes writes');
unlike($t->error_log, qr/kvmq_zone "other" size changed/,
       'no warning for the unchanged zone');

$t->stop;
is(join("\n", $t->bad_log_lines), '', 'error log clean');

# a worker killed while it holds the zone lock does not wedge the zone:
# the master force-unlocks it ("was locked by" in the log)
$t = Kvmq::Test->new;
$t->allow_log(qr/exited on signal 9/, qr/was locked by/);
$t->conf(full(<<'HTTP'))->run;
    kvmq_zone main size=64m;
    server {
        listen 127.0.0.1:%%PORT%%;
        client_max_body_size 8m;
        location /kvmq/ { kvmq_api main; }
    }
HTTP

for my $b (0 .. 19) {
    $t->http(POST => '/kvmq/cmd', {},
        json_encode(['MSET', map { ("k$b:$_", 'v') } 1 .. 10_000]));
}

# KEYS walks the 200k keys under the lock: a kill often lands inside it
my $walk = json_encode([map { ['KEYS', '*nomatch*'] } 1 .. 10]);
for my $round (1 .. 3) {
    $t->wait_workers(2);
    my $pending = 6;
    my @uas = map { Mojo::UserAgent->new(request_timeout => 5) } 1 .. 6;
    for my $ua (@uas) {
        $ua->post($t->url('/kvmq/cmd') => {} => $walk
                  => sub { Mojo::IOLoop->stop unless --$pending });
    }
    Mojo::IOLoop->timer(0.05 + rand(0.1) => sub {
        my @w = $t->worker_pids;
        kill 'KILL', $w[0] if @w;
    });
    Mojo::IOLoop->timer(5 => sub { Mojo::IOLoop->stop });
    Mojo::IOLoop->start;
    Mojo::IOLoop->reset;
}

my $alive = 0;
for (1 .. 10) {
    my $res = $t->http(GET => '/kvmq/cmd/DBSIZE', {}, undef, timeout => 3);
    $alive++ if $res->status == 200 && $res->body eq '200000';
}
is($alive, 10, 'after killing workers under load the zone still answers');
my $locked = () = $t->error_log =~ /was locked by/g;
diag("$locked of 3 kills hit a worker holding the zone lock");

$t->done;
