#!/usr/bin/perl

# Limits: kvmq_max_key and kvmq_max_value (413 with nothing written, in
# every door), their inheritance, and a full zone (507 NOMEM, nothing
# half-written, reads unaffected, DELETE frees space).

use strict;
use warnings;

use MIME::Base64 qw(encode_base64);
use Test::More;

use lib 't/lib';
use Kvmq::Test qw(json_decode json_encode err_is);

my $t = Kvmq::Test->new->skip_unless_module;
$t->conf(<<'EOF')->run;
load_module %%MODULE%%;
worker_processes 2;

http {
    kvmq_zone main size=4m;
    kvmq_zone tiny size=1m;
    kvmq_max_key 16;
    server {
        listen 127.0.0.1:%%PORT%%;
        client_body_buffer_size 1k;
        client_max_body_size 20m;
        kvmq_max_value 1k;
        location /kvmq/ { kvmq_api main; }
        location /big/ { kvmq_api main; kvmq_max_key 1k; kvmq_max_value 8m; }
        location /tiny/ { kvmq_api tiny; kvmq_max_value 8m; }
    }
}
EOF


my $k16 = 'k' x 16;
my $k17 = 'k' x 17;
my $v1k = 'v' x 1024;

# kvmq_max_key (set at http level, inherited)
is($t->http(PUT => "/kvmq/kv/$k16", {}, 'x')->status, 201, 'a 16-byte key');
err_is($t->http(PUT => "/kvmq/kv/$k17", {}, 'x'), 413, 'TOOLARGE',
       'key of 17 bytes is over kvmq_max_key (16)', 'a 17-byte key in PUT');
err_is($t->http(GET => "/kvmq/kv/$k17"), 413, 'TOOLARGE',
       'key of 17 bytes is over kvmq_max_key (16)', 'a 17-byte key in GET');
err_is($t->http(POST => '/kvmq/cmd', {}, json_encode(['SET', $k17, 'x'])),
       413, 'TOOLARGE', 'command 1: key of 17 bytes is over kvmq_max_key (16)',
       '/cmd SET with a 17-byte key');
err_is($t->http(POST => '/kvmq/cmd', {},
           json_encode(['MSET', 'a', 'x', $k17, 'y'])), 413, 'TOOLARGE',
       qr/kvmq_max_key/, 'MSET with a long second key');
is($t->http(POST => '/kvmq/cmd', {}, json_encode(['ECHO', $k17]))->body,
   "\"$k17\"", 'a long argument that is not a key is fine');
is($t->http(GET => '/kvmq/cmd/EXISTS/a')->body, '0', 'the MSET wrote nothing');
is($t->http(PUT => "/big/kv/$k17", {}, 'x')->status, 201,
   'a location raising kvmq_max_key');

# kvmq_max_value
is($t->http(PUT => '/kvmq/kv/v', {}, $v1k)->status, 201, 'a 1k value');
err_is($t->http(PUT => '/kvmq/kv/v', {}, "$v1k+"), 413, 'TOOLARGE',
       'value of 1025 bytes is over kvmq_max_value (1024)',
       'a 1025-byte value');
is($t->http(GET => '/kvmq/kv/v')->body, $v1k, 'the old value is intact');
err_is($t->http(PUT => '/kvmq/kv/v2', ['Transfer-Encoding' => 'chunked'],
                "258\r\n" . ('v' x 600) . "\r\n1a9\r\n" . ('v' x 425)
                . "\r\n0\r\n\r\n"),
       413, 'TOOLARGE', 'value of 1025 bytes is over kvmq_max_value (1024)',
       'a chunked 1025-byte value');
is($t->http(GET => '/kvmq/kv/v2')->status, 404, 'nothing written');
err_is($t->http(POST => '/kvmq/kv/v/append', {}, 'x' x 2000), 413,
       'TOOLARGE', 'value of 2000 bytes is over kvmq_max_value (1024)',
       'append body over the limit');
err_is($t->http(POST => '/kvmq/kv/v/append', {}, 'x'), 413, 'TOOLARGE',
       qr/./, 'append growing the value past the limit');
is($t->http(GET => '/kvmq/kv/v')->body, $v1k, 'the value did not grow');
err_is($t->http(POST => '/kvmq/cmd', {}, json_encode(['SETRANGE', 'v', 1024, 'x'])),
       413, 'TOOLARGE', qr/./, 'SETRANGE past the limit');
err_is($t->http(POST => '/kvmq/cmd', {},
           json_encode([['SET', 'b1', 'x'], ['SET', 'b2', "$v1k+"]])),
       413, 'TOOLARGE',
       'command 2: argument 2 of 1025 bytes is over kvmq_max_value (1024)',
       'a batch with one value over the limit');
is($t->http(GET => '/kvmq/cmd/EXISTS/b1')->body, '0',
   'the batch ran nothing');
is($t->http(PUT => '/big/kv/v', {}, 'x' x 100_000)->status, 200,
   'a location raising kvmq_max_value');

# a full zone: NOMEM, nothing half-written, reads go on, DEL frees
my $chunk = 'z' x 50_000;
my ($n, $r) = (0);
while ($n < 100) {
    $r = $t->http(PUT => "/tiny/kv/fill$n", {}, $chunk);
    last if $r->status != 201;
    $n++;
}
ok($n > 5 && $n < 100, "the 1m zone took $n values of 50k");
err_is($r, 507, 'NOMEM', qr/full/, 'the write that did not fit');
is($t->http(GET => "/tiny/kv/fill$n")->status, 404, 'the failed key is absent');
ok($t->http(GET => '/tiny/kv/fill0')->body eq $chunk, 'reads still work');
my $etag = $t->http(GET => '/tiny/kv/fill1')->header('ETag');
err_is($t->http(PUT => '/tiny/kv/fill1', {}, $chunk x 2), 507, 'NOMEM',
       qr/full/, 'overwriting with a bigger value');
$r = $t->http(GET => '/tiny/kv/fill1');
ok($r->body eq $chunk && $r->header('ETag') eq $etag,
   'the old value and its cas are intact');
err_is($t->http(POST => '/tiny/kv/fill2/append', {}, $chunk), 507, 'NOMEM',
       qr/full/, 'append on a full zone');
is(length($t->http(GET => '/tiny/kv/fill2')->body), 50_000,
   'the failed append changed nothing');
err_is($t->http(POST => '/tiny/cmd', {},
           json_encode(['MSET', 'm1', $chunk, 'm2', $chunk])), 507, 'NOMEM',
       qr/full/, 'MSET on a full zone');
is($t->http(GET => '/tiny/cmd/EXISTS/m1/m2')->body, '0',
   'the failed MSET wrote no key');
is($t->http(DELETE => '/tiny/kv/fill0')->body, '{"deleted":1}',
   'DELETE on a full zone');
is($t->http(PUT => "/tiny/kv/fill$n", {}, $chunk)->status, 201,
   'the freed space takes a new value');
my $s = json_decode($t->http(GET => '/tiny/stats')->body);
is($s->{keys}, $n, 'stats: keys of the full zone');
is($s->{zone}{used} + $s->{zone}{free}, $s->{zone}{size},
   'stats: used + free = size');

$t->done;
