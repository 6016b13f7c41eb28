#!/usr/bin/perl

# The /list REST routes (API.md "List"): every route with its exact status
# and body, every error it can answer (400 403 404 405 409 413 507, and
# 204 for an empty pop), raw and JSON bodies, ?encoding=base64, and two
# workers sharing one zone.

use strict;
use warnings;

use MIME::Base64 qw(encode_base64);
use Test::More;
use Time::HiRes qw(time);

use lib 't/lib';
use Kvmq::Test qw(json_decode json_encode err_is reply_is);

my $t = Kvmq::Test->new->skip_unless_module;
$t->conf(<<'EOF')->run;
load_module %%MODULE%%;
worker_processes 2;

http {
    kvmq_zone main size=4m;
    kvmq_zone tiny size=1m;
    server {
        listen 127.0.0.1:%%PORT%%;
        client_body_buffer_size 1k;
        location /kvmq/ {
            kvmq_api main;
            add_header X-Pid $pid always;
            add_header X-Cmd "$kvmq_command $kvmq_key" always;
        }
        location /ro/ { kvmq_api main; kvmq_readonly on; }
        location /small/ { kvmq_api main; kvmq_max_key 16; kvmq_max_value 64; }
        location /tiny/ { kvmq_api tiny; }
    }
}
EOF


my $b64 = sub { encode_base64($_[0], '') };
my $json = { 'Content-Type' => 'application/json' };
my $r;

# POST /list/{key}: push one raw item or a JSON array of items
$r = $t->http(POST => '/kvmq/list/q', {}, 'one');
reply_is($r, 200, '{"length":1}', 'push one raw item');
is($r->header('X-Cmd'), 'RPUSH q', 'end defaults to right (RPUSH)');
reply_is($t->http(POST => '/kvmq/list/q',
             { 'Content-Type' => 'application/json; charset=utf-8' },
             '["two",3]'),
         200, '{"length":3}', 'push a JSON array (a number is its text)');
$r = $t->http(POST => '/kvmq/list/q?end=left', $json, '["b","a"]');
reply_is($r, 200, '{"length":5}', 'push a JSON array at the left');
is($r->header('X-Cmd'), 'LPUSH q', 'end=left is LPUSH');
reply_is($t->http(POST => '/kvmq/list/q?end=right', {}, ''), 200,
         '{"length":6}', 'push an empty item');
reply_is($t->http(POST => '/kvmq/list/q', { 'Content-Type' => 'text/plain' },
             '["raw"]'), 200, '{"length":7}',
         'without the JSON content type a body is one item');

# GET /list/{key}?start=&stop=
reply_is($t->http(GET => '/kvmq/list/q'), 200,
         '["a","b","one","two","3","","[\"raw\"]"]',
         'GET: the whole list (LPUSH put the last item first)');
reply_is($t->http(GET => '/kvmq/list/q?start=1&stop=2'), 200, '["b","one"]',
         'start=1&stop=2');
reply_is($t->http(GET => '/kvmq/list/q?start=-2'), 200, '["","[\"raw\"]"]',
         'start=-2');
reply_is($t->http(GET => '/kvmq/list/q?stop=0'), 200, '["a"]', 'stop=0');
reply_is($t->http(GET => '/kvmq/list/q?start=5&stop=1'), 200, '[]',
         'an empty range');
reply_is($t->http(GET => '/kvmq/list/nothing'), 200, '[]',
         'an absent list reads as []');
is($t->http(GET => '/kvmq/list/q')->header('X-Cmd'), 'LRANGE q',
   'GET is LRANGE');
$r = $t->http(HEAD => '/kvmq/list/q');
is($r->status, 200, 'HEAD: 200');
is($r->body, '', 'HEAD: no body');
err_is($t->http(GET => '/kvmq/list/q?start=x'), 400, 'BADREQ',
       'start must be an integer', 'start=x');
err_is($t->http(GET => '/kvmq/list/q?stop=1.5'), 400, 'BADREQ',
       'stop must be an integer', 'stop=1.5');

# GET and PUT /list/{key}/{index}
reply_is($t->http(GET => '/kvmq/list/q/0'), 200, '"a"', 'GET index 0');
reply_is($t->http(GET => '/kvmq/list/q/-1'), 200, '"[\"raw\"]"',
         'GET index -1');
err_is($t->http(GET => '/kvmq/list/q/7'), 404, 'NOTFOUND', 'no such index',
       'GET past the end');
err_is($t->http(GET => '/kvmq/list/q/-8'), 404, 'NOTFOUND', 'no such index',
       'GET before the start');
err_is($t->http(GET => '/kvmq/list/nothing/0'), 404, 'NOTFOUND',
       'no such index', 'GET of an absent list');
err_is($t->http(GET => '/kvmq/list/q/x'), 400, 'BADREQ',
       'index must be an integer', 'GET index x');
err_is($t->http(GET => '/kvmq/list/q/01'), 400, 'BADREQ',
       'index must be an integer', 'GET index 01');
is($t->http(HEAD => '/kvmq/list/q/0')->status, 200, 'HEAD an index');
$r = $t->http(PUT => '/kvmq/list/q/1', {}, 'B');
reply_is($r, 200, '"OK"', 'PUT an index');
is($r->header('X-Cmd'), 'LSET q', 'PUT an index is LSET');
is($t->http(GET => '/kvmq/list/q/1')->body, '"B"', 'the new item');
reply_is($t->http(PUT => '/kvmq/list/q/-1', {}, 'last'), 200, '"OK"',
         'PUT index -1');
err_is($t->http(PUT => '/kvmq/list/q/7', {}, 'x'), 400, 'BADREQ',
       'index out of range', 'PUT past the end');
err_is($t->http(PUT => '/kvmq/list/nothing/0', {}, 'x'), 404, 'NOTFOUND',
       'no such key', 'PUT into an absent list');
err_is($t->http(PUT => '/kvmq/list/q/x', {}, 'x'), 400, 'BADREQ',
       'index must be an integer', 'PUT index x');

# POST /list/{key}/pop
$r = $t->http(POST => '/kvmq/list/q/pop');
reply_is($r, 200, '["a"]', 'pop: one item from the left, as an array');
is($r->header('X-Cmd'), 'LPOP q', 'pop is LPOP by default');
$r = $t->http(POST => '/kvmq/list/q/pop?end=right&count=2');
reply_is($r, 200, '["last",""]', 'pop two from the right');
is($r->header('X-Cmd'), 'RPOP q', 'end=right is RPOP');
reply_is($t->http(POST => '/kvmq/list/q/pop?count=0'), 200, '[]',
         'pop count=0');
err_is($t->http(POST => '/kvmq/list/q/pop?count=-1'), 400, 'BADREQ',
       qr/must be positive/, 'pop count=-1');
err_is($t->http(POST => '/kvmq/list/q/pop?count=x'), 400, 'BADREQ',
       'count must be an integer', 'pop count=x');
err_is($t->http(POST => '/kvmq/list/q/pop?end=middle'), 400, 'BADREQ',
       'end must be left or right', 'pop end=middle');
err_is($t->http(POST => '/kvmq/list/q/pop?wait=x'), 400, 'BADREQ',
       'wait must be a number of milliseconds', 'pop wait=x');
err_is($t->http(POST => '/kvmq/list/q/pop?wait=-5'), 400, 'BADREQ',
       'wait must be a number of milliseconds', 'pop wait=-5');
reply_is($t->http(POST => '/kvmq/list/q/pop?count=100'), 200,
         '["B","one","two","3"]', 'pop more than there is');
is($t->http(GET => '/kvmq/cmd/EXISTS/q')->body, '0',
   'the last pop deleted the list');
$r = $t->http(POST => '/kvmq/list/q/pop');
is($r->status, 204, 'pop of an empty list: 204');
is($r->body, '', '204: no body');
is($t->http(POST => '/kvmq/list/q/pop?count=3&end=right')->status, 204,
   'pop count=3 of an empty list: 204');

# wait= waits for a push, then answers 204 (t/blocking.t has the rest)
my $t0 = time;
is($t->http(POST => '/kvmq/list/q/pop?wait=300')->status, 204,
   'pop?wait= of an empty list: 204');
ok(time - $t0 >= 0.29, 'answered after the wait');
$t->http(POST => '/kvmq/list/q', {}, 'w');
reply_is($t->http(POST => '/kvmq/list/q/pop?wait=2000'), 200, '["w"]',
         'pop?wait= of a list with items');

# JSON bodies
for my $c (['{"a":1}', 'an object'], ['"a"', 'a string'],
           ['[["a"]]', 'a nested array'], ['[{"a":1}]', 'an object item'],
           ['[null]', 'null'], ['[false]', 'a boolean'])
{
    err_is($t->http(POST => '/kvmq/list/j', $json, $c->[0]), 400, 'BADREQ',
           'the body must be a JSON array of strings or numbers', $c->[1]);
}
err_is($t->http(POST => '/kvmq/list/j', $json, '[]'), 400, 'BADREQ',
       'the JSON array is empty', 'an empty array');
err_is($t->http(POST => '/kvmq/list/j', $json, '["a",'), 400, 'BADREQ',
       qr/^malformed JSON/, 'malformed JSON');
err_is($t->http(POST => '/kvmq/list/j', $json, ''), 400, 'BADREQ',
       qr/^malformed JSON/, 'an empty JSON body');
err_is($t->http(POST => '/kvmq/list/j?encoding=base64', $json, '["@@"]'),
       400, 'BADREQ', 'invalid base64 string', 'bad base64');
is($t->http(GET => '/kvmq/cmd/EXISTS/j')->body, '0',
   'no failed body wrote anything');

# items are bytes
my $bin = "\x00\xff\xfe";
reply_is($t->http(POST => '/kvmq/list/bin?encoding=base64', $json,
             json_encode([$b64->($bin), $b64->('ok'), 5])),
         200, '{"length":3}', 'push base64 items');
reply_is($t->http(POST => '/kvmq/list/bin', {}, $bin), 200, '{"length":4}',
         'push a raw binary item');
reply_is($t->http(GET => '/kvmq/list/bin'), 200,
         '[{"base64":"' . $b64->($bin) . '"},"ok","5",{"base64":"'
         . $b64->($bin) . '"}]', 'items that are not UTF-8 are {"base64"}');
reply_is($t->http(GET => '/kvmq/list/bin?encoding=base64'), 200,
         json_encode([map { $b64->($_) } $bin, 'ok', '5', $bin]),
         '?encoding=base64: every item in base64');
reply_is($t->http(GET => '/kvmq/list/bin/1?encoding=base64'), 200,
         '"' . $b64->('ok') . '"', 'an index in base64');
reply_is($t->http(POST => '/kvmq/list/bin/pop?encoding=base64'), 200,
         '["' . $b64->($bin) . '"]', 'pop in base64');
my $key = "a/b%c?d \x01\xff";
(my $enc = $key) =~ s/([^A-Za-z0-9_.~-])/sprintf('%%%02X', ord $1)/ge;
$t->http(POST => "/kvmq/list/$enc", {}, 'x');
is($t->http(GET => "/kvmq/list/$enc")->body, '["x"]', 'a binary key');

# methods and routes
$r = $t->http(DELETE => '/kvmq/list/q');
err_is($r, 405, 'METHOD', 'method not allowed; use GET, HEAD, POST',
       'DELETE /list/{key}');
is($r->header('Allow'), 'GET, HEAD, POST', 'Allow of /list/{key}');
$r = $t->http(POST => '/kvmq/list/q/0');
err_is($r, 405, 'METHOD', 'method not allowed; use GET, HEAD, PUT',
       'POST /list/{key}/{index}');
is($r->header('Allow'), 'GET, HEAD, PUT', 'Allow of /list/{key}/{index}');
is($t->http(DELETE => '/kvmq/list/q/0')->status, 405,
   'DELETE /list/{key}/{index}: 405');
$r = $t->http(GET => '/kvmq/list/q/pop');
err_is($r, 405, 'METHOD', 'method not allowed; use POST', 'GET .../pop');
is($r->header('Allow'), 'POST', 'Allow of .../pop');
err_is($t->http(POST => '/kvmq/list/q?end=up', {}, 'x'), 400, 'BADREQ',
       'end must be left or right', 'push end=up');
err_is($t->http(GET => '/kvmq/list'), 404, 'NOTFOUND', 'no such route',
       '/list');
err_is($t->http(GET => '/kvmq/list/q/0/x'), 404, 'NOTFOUND',
       'no such route', 'too many segments');

# WRONGTYPE
$t->http(PUT => '/kvmq/kv/str', {}, 'text');
for my $c (['POST', '/kvmq/list/str', 'x'], ['GET', '/kvmq/list/str'],
           ['GET', '/kvmq/list/str/0'], ['PUT', '/kvmq/list/str/0', 'x'],
           ['POST', '/kvmq/list/str/pop'])
{
    my ($m, $p, $body) = @$c;
    err_is($t->http($m => $p, {}, $body), 409, 'WRONGTYPE',
           'Operation against a key holding the wrong kind of value',
           "$m $p on a string");
}
$t->http(POST => '/kvmq/list/l', {}, 'x');
err_is($t->http(GET => '/kvmq/kv/l'), 409, 'WRONGTYPE',
       'Operation against a key holding the wrong kind of value',
       'GET /kv/{key} of a list');

# a read-only location
is($t->http(GET => '/ro/list/l')->body, '["x"]', 'read-only: GET');
is($t->http(GET => '/ro/list/l/0')->body, '"x"', 'read-only: GET an index');
err_is($t->http(POST => '/ro/list/l', {}, 'y'), 403, 'DENIED',
       qr/read-only/, 'read-only: push');
err_is($t->http(PUT => '/ro/list/l/0', {}, 'y'), 403, 'DENIED',
       qr/read-only/, 'read-only: PUT an index');
err_is($t->http(POST => '/ro/list/l/pop'), 403, 'DENIED', qr/read-only/,
       'read-only: pop');
is($t->http(GET => '/kvmq/list/l')->body, '["x"]', 'read-only wrote nothing');

# limits: kvmq_max_key 16, kvmq_max_value 64
my $k17 = 'k' x 17;
for my $c (['POST', "/small/list/$k17", 'x'], ['GET', "/small/list/$k17"],
           ['GET', "/small/list/$k17/0"], ['PUT', "/small/list/$k17/0", 'x'],
           ['POST', "/small/list/$k17/pop"])
{
    my ($m, $p, $body) = @$c;
    err_is($t->http($m => $p, {}, $body), 413, 'TOOLARGE',
           'key of 17 bytes is over kvmq_max_key (16)', "$m a 17-byte key");
}
reply_is($t->http(POST => '/small/list/lim', {}, 'v' x 64), 200,
         '{"length":1}', 'a 64-byte item');
err_is($t->http(POST => '/small/list/lim', {}, 'v' x 65), 413, 'TOOLARGE',
       'body of 65 bytes is over kvmq_max_value (64)', 'a 65-byte item');
err_is($t->http(PUT => '/small/list/lim/0', {}, 'v' x 65), 413, 'TOOLARGE',
       'body of 65 bytes is over kvmq_max_value (64)', 'LSET of 65 bytes');
err_is($t->http(POST => '/small/list/lim', $json,
           json_encode(['v' x 30, 'w' x 30])), 413, 'TOOLARGE',
       qr/^body of \d+ bytes is over kvmq_max_value \(64\)$/,
       'a JSON body over the limit');
is($t->http(GET => '/kvmq/list/lim')->body, '["' . ('v' x 64) . '"]',
   'nothing over the limits was written');

# a full zone: 507, the list as it was
sub fill {
    my ($prefix, $last) = @_;
    my $i = 0;
    for my $size (50_000, 5_000, 500, 50, 5, 0) {
        my $c = $t->connect;
        while ($i < 100_000) {
            my $r = $size ? $c->request(PUT => "$prefix/kv/fill$i", {},
                                        'z' x $size)
                          : $c->request(@{ $last->($i) });
            $i++;
            last if $r->status >= 300;
        }
        $c->close;
    }
    return $i;
}
$t->http(POST => '/tiny/list/l', $json, '["a","b"]');
ok(fill('/tiny', sub { [POST => "/tiny/list/fill$_[0]", {}, 'x'] }) > 20,
   'the 1m zone is full');
err_is($t->http(POST => '/tiny/list/l', {}, 'x' x 50_000), 507, 'NOMEM',
       qr/full/, 'push on a full zone');
err_is($t->http(POST => '/tiny/list/l', $json,
           json_encode([('x' x 1000) x 60])), 507, 'NOMEM', qr/full/,
       'push many on a full zone');
err_is($t->http(POST => '/tiny/list/new', {}, 'x'), 507, 'NOMEM', qr/full/,
       'push creating a list on a full zone');
err_is($t->http(PUT => '/tiny/list/l/0', {}, 'x' x 50_000), 507, 'NOMEM',
       qr/full/, 'LSET of a big item on a full zone');
is($t->http(GET => '/tiny/list/l')->body, '["a","b"]',
   'the list is as it was');

# two workers, one zone: push through one, pop through the other
my @c = $t->worker_conns(2, path => '/kvmq/list/nothing');
SKIP: {
    skip 'only one worker reached', 3 unless @c == 2;
    my ($c1, $c2) = @c;
    $c1->request(POST => '/kvmq/list/xw', {}, "m$_") for 1 .. 3;
    is($c2->request(POST => '/kvmq/list/xw/pop?count=2')->body,
       '["m1","m2"]', 'pop through the other worker, in order');
    is($c1->request(POST => '/kvmq/list/xw/pop')->body, '["m3"]',
       'and the rest through the first');
    is($c2->request(POST => '/kvmq/list/xw/pop')->status, 204,
       'both see it empty');
    $_->close for @c;
}

$t->done;
