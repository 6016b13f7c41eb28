#!/usr/bin/perl

# The /kv REST routes: strings as HTTP resources (API.md "Strings"), every
# status they can answer, binary-safe names and values, and two workers
# sharing one zone.

use strict;
use warnings;

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
    server {
        listen 127.0.0.1:%%PORT%%;
        client_body_buffer_size 1k;
        client_max_body_size 20m;
        location /kvmq/ { kvmq_api main; add_header X-Pid $pid always; }
        location /ro/ { kvmq_api main; kvmq_readonly on; }
        location /bare { kvmq_api main; }
    }
}
EOF

sub err_is {
    my ($res, $status, $code, $msg, $name) = @_;
    is($res->status, $status, "$name: status $status");
    my $j = eval { json_decode($res->body) } // {};
    is($j->{error}, $code, "$name: error $code");
    if (ref $msg eq 'Regexp') {
        like($j->{message}, $msg, "$name: message");
    } elsif (defined $msg) {
        is($j->{message}, $msg, "$name: message");
    }
    is($res->header('Content-Type'), 'application/json',
       "$name: JSON content type");
}

my ($r, $etag);

# PUT: created, then replaced
$r = $t->http(PUT => '/kvmq/kv/greeting', {'Content-Type' => 'text/plain'},
         'hello');
is($r->status, 201, 'PUT new key: 201');
is($r->body, '"OK"', 'PUT body');
like($r->header('ETag'), qr/^"\d+"$/, 'PUT ETag');
$etag = $r->header('ETag');

$r = $t->http(GET => '/kvmq/kv/greeting');
is($r->status, 200, 'GET: 200');
is($r->body, 'hello', 'GET: raw value');
is($r->header('ETag'), $etag, 'GET: same ETag as the PUT');
is($r->header('X-Kvmq-TTL'), '-1', 'GET: no TTL');
is($r->header('Content-Type'), 'text/plain', 'GET: stored Content-Type');

$r = $t->http(HEAD => '/kvmq/kv/greeting');
is($r->status, 200, 'HEAD: 200');
is($r->body, '', 'HEAD: no body');
is($r->header('Content-Length'), 5, 'HEAD: Content-Length of the value');
is($r->header('ETag'), $etag, 'HEAD: ETag');

$r = $t->http(PUT => '/kvmq/kv/greeting', {}, 'hello again');
is($r->status, 200, 'PUT existing key: 200');
isnt($r->header('ETag'), $etag, 'PUT: new ETag');
$r = $t->http(GET => '/kvmq/kv/greeting');
is($r->body, 'hello again', 'GET after replace');
is($r->header('Content-Type'), 'application/octet-stream',
   'no Content-Type stored: application/octet-stream');

$r = $t->http(GET => '/kvmq/kv/greeting', {'If-None-Match' => $r->header('ETag')});
is($r->status, 304, 'conditional GET with the current ETag: 304');

# TTLs
$r = $t->http(PUT => '/kvmq/kv/ttl?ex=100', {}, 'v');
is($r->status, 201, 'PUT ?ex=100');
$r = $t->http(GET => '/kvmq/kv/ttl');
my $ttl = $r->header('X-Kvmq-TTL');
ok($ttl > 98000 && $ttl <= 100000, "X-Kvmq-TTL in ms ($ttl)");
$r = $t->http(PUT => '/kvmq/kv/ttl?keepttl', {}, 'w');
is($r->status, 200, 'PUT ?keepttl');
$r = $t->http(GET => '/kvmq/kv/ttl');
$ttl = $r->header('X-Kvmq-TTL');
ok($ttl > 98000 && $ttl <= 100000, "keepttl kept the TTL ($ttl)");
is($r->body, 'w', 'keepttl replaced the value');
$r = $t->http(PUT => '/kvmq/kv/ttl?px=1500', {}, 'x');
$ttl = $t->http(GET => '/kvmq/kv/ttl')->header('X-Kvmq-TTL');
ok($ttl > 0 && $ttl <= 1500, "PUT ?px=1500 ($ttl)");
$t->http(PUT => '/kvmq/kv/ttl', {}, 'y');
is($t->http(GET => '/kvmq/kv/ttl')->header('X-Kvmq-TTL'), '-1',
   'a plain PUT clears the TTL');
$t->http(PUT => '/kvmq/kv/short?px=100', {}, 'soon gone');
sleep 0.3;
err_is($t->http(GET => '/kvmq/kv/short'), 404, 'NOTFOUND', 'no such key',
       'expired key');
err_is($t->http(PUT => '/kvmq/kv/ttl?ex=ten', {}, 'v'), 400, 'BADREQ',
       'ex must be an integer', 'bad ex');
err_is($t->http(PUT => '/kvmq/kv/ttl?ex=1&px=1', {}, 'v'), 400, 'BADREQ',
       'use only one of ex, px and keepttl', 'ex with px');
err_is($t->http(PUT => '/kvmq/kv/ttl?ex=0', {}, 'v'), 400, 'BADREQ',
       qr/invalid expire time/, 'ex=0');

# conditional writes
err_is($t->http(PUT => '/kvmq/kv/greeting', {'If-None-Match' => '*'}, 'x'),
       412, 'PRECONDITION', 'the key exists', 'If-None-Match: * on a key');
$r = $t->http(PUT => '/kvmq/kv/added', {'If-None-Match' => '*'}, 'a');
is($r->status, 201, 'If-None-Match: * on no key: 201');
err_is($t->http(PUT => '/kvmq/kv/absent', {'If-Match' => '*'}, 'x'),
       412, 'PRECONDITION', 'no such key', 'If-Match: * on no key');
is($t->http(GET => '/kvmq/kv/absent')->status, 404, 'failed replace wrote nothing');
$r = $t->http(PUT => '/kvmq/kv/added', {'If-Match' => '*'}, 'b');
is($r->status, 200, 'If-Match: * on a key: 200');
$etag = $r->header('ETag');
$r = $t->http(PUT => '/kvmq/kv/added', {'If-Match' => $etag}, 'c');
is($r->status, 200, 'If-Match with the current ETag (CAS): 200');
my $etag2 = $r->header('ETag');
isnt($etag2, $etag, 'CAS: new ETag');
err_is($t->http(PUT => '/kvmq/kv/added', {'If-Match' => $etag}, 'd'),
       412, 'PRECONDITION', 'the ETag does not match', 'CAS with a stale ETag');
is($t->http(GET => '/kvmq/kv/added')->body, 'c', 'failed CAS wrote nothing');
err_is($t->http(PUT => '/kvmq/kv/nokey', {'If-Match' => '"5"'}, 'd'),
       412, 'PRECONDITION', 'no such key', 'CAS on no key');
err_is($t->http(PUT => '/kvmq/kv/added', {'If-Match' => 'W/"5"'}, 'd'),
       400, 'BADREQ', qr/If-Match/, 'weak ETag in If-Match');
err_is($t->http(PUT => '/kvmq/kv/added', {'If-None-Match' => '"5"'}, 'd'),
       400, 'BADREQ', 'PUT takes only If-None-Match: *',
       'If-None-Match with an ETag');
$r = $t->http(PUT => '/kvmq/kv/added?ex=50', {'If-Match' => $etag2}, 'e');
is($r->status, 200, 'CAS with ?ex');
$ttl = $t->http(GET => '/kvmq/kv/added')->header('X-Kvmq-TTL');
ok($ttl > 48000 && $ttl <= 50000, "CAS set the TTL ($ttl)");

# DELETE
is($t->http(DELETE => '/kvmq/kv/added')->body, '{"deleted":1}', 'DELETE: 1');
is($t->http(DELETE => '/kvmq/kv/added')->body, '{"deleted":0}', 'DELETE: 0');
err_is($t->http(GET => '/kvmq/kv/added'), 404, 'NOTFOUND', 'no such key',
       'GET after DELETE');
is($t->http(HEAD => '/kvmq/kv/added')->status, 404, 'HEAD of no key: 404');

# counters
is($t->http(POST => '/kvmq/kv/n/incr')->body, '{"value":1}', 'incr');
is($t->http(POST => '/kvmq/kv/n/incr?by=41')->body, '{"value":42}',
   'incr?by=41');
is($t->http(POST => '/kvmq/kv/n/decr')->body, '{"value":41}', 'decr');
is($t->http(POST => '/kvmq/kv/n/decr?by=-9')->body, '{"value":50}',
   'decr?by=-9');
is($t->http(POST => '/kvmq/kv/n/incrbyfloat?by=0.25')->body,
   '{"value":50.25}', 'incrbyfloat');
is($t->http(POST => '/kvmq/kv/f/incrbyfloat')->body, '{"value":1}',
   'incrbyfloat defaults to 1');
is($t->http(GET => '/kvmq/kv/n')->body, '50.25', 'counter is a string');
err_is($t->http(POST => '/kvmq/kv/n/incr'), 400, 'BADREQ',
       'value is not an integer or out of range', 'incr of a float');
err_is($t->http(POST => '/kvmq/kv/n/incr?by=x'), 400, 'BADREQ',
       'by must be an integer', 'incr?by=x');
err_is($t->http(POST => '/kvmq/kv/n/incr?by=1.5'), 400, 'BADREQ',
       'by must be an integer', 'incr?by=1.5');
err_is($t->http(POST => '/kvmq/kv/n/incrbyfloat?by=abc'), 400, 'BADREQ',
       qr/not a valid float/, 'incrbyfloat?by=abc');

# append, prepend
is($t->http(POST => '/kvmq/kv/s/append', {}, 'world')->body,
   '{"length":5}', 'append to no key');
is($t->http(POST => '/kvmq/kv/s/prepend', {}, 'hello ')->body,
   '{"length":11}', 'prepend');
is($t->http(POST => '/kvmq/kv/s/append', {}, '!')->body, '{"length":12}',
   'append');
is($t->http(GET => '/kvmq/kv/s')->body, 'hello world!', 'appended value');

# names are percent-encoded path segments of any bytes
my $key = "a/b%c?d \x01\xff";
(my $enc = $key) =~ s/([^A-Za-z0-9_.~-])/sprintf('%%%02X', ord $1)/ge;
$r = $t->http(PUT => "/kvmq/kv/$enc", {}, 'odd');
is($r->status, 201, 'PUT a key with /, %, ?, space, 0x01 and 0xff');
is($t->http(GET => "/kvmq/kv/$enc")->body, 'odd', 'GET it back');
is($t->http(GET => '/kvmq/kv/a/b')->status, 404,
   'an unencoded slash is a separator');
$r = $t->http(POST => '/kvmq/cmd?encoding=base64', {},
         json_encode([map { encode_base64($_, '') }
                      'STRLEN', $key]));
is($r->body, '3', 'the key reached the engine byte for byte');
is($t->http(GET => '/bare/kv/greeting')->body, 'hello again',
   'a location without a trailing slash');

# a binary value bigger than client_body_buffer_size (a temp file)
my $bin = join '', map { chr(int(rand(256))) } 1 .. 100_000;
is($t->http(PUT => '/kvmq/kv/bin', {}, $bin)->status, 201,
   'PUT 100k from a temp file');
$r = $t->http(GET => '/kvmq/kv/bin');
ok($r->body eq $bin, 'binary value round trip');
is($t->http(POST => '/kvmq/kv/bin/append', {}, $bin)->body,
   '{"length":200000}', 'append from a temp file');

# listing
$t->http(PUT => "/kvmq/kv/list:$_", {}, $_) for 1 .. 30;
$r = $t->http(GET => '/kvmq/kv?match=list:*&count=1000');
my $j = json_decode($r->body);
is($j->{cursor}, '0', 'scan with a big count: cursor 0');
is_deeply([sort { $a <=> $b } map { /(\d+)/ } @{ $j->{keys} }],
          [1 .. 30], 'scan with match finds the keys');
my ($cursor, %seen, $rounds) = ('0');
do {
    $j = json_decode($t->http(GET => "/kvmq/kv?match=list%3A*&count=2&cursor=$cursor")->body);
    $seen{$_}++ for @{ $j->{keys} };
    $cursor = $j->{cursor};
} while ($cursor ne '0' && ++$rounds < 1000);
is(scalar(keys %seen), 30, 'scan with a cursor returns every key');
$j = json_decode($t->http(GET => '/kvmq/kv?match=a%2Fb*&count=1000')->body);
is_deeply($j->{keys}, [{ base64 => encode_base64($key, '') }],
          'a key that is not UTF-8 is listed as {"base64": ...}');
$j = json_decode($t->http(GET => '/kvmq/kv?match=greet*&count=1000&encoding=base64')->body);
is_deeply($j->{keys}, [encode_base64('greeting', '')],
          'encoding=base64 lists keys in base64');
err_is($t->http(GET => '/kvmq/kv?cursor=x'), 400, 'BADREQ',
       'cursor must be an integer', 'bad cursor');
err_is($t->http(GET => '/kvmq/kv?count=0'), 400, 'BADREQ', qr/syntax/,
       'count=0');
err_is($t->http(GET => '/kvmq/kv?encoding=hex'), 400, 'BADREQ',
       'unknown encoding "hex"', 'unknown encoding');

# methods and routes
$r = $t->http(PATCH => '/kvmq/kv/greeting');
err_is($r, 405, 'METHOD', 'method not allowed; use GET, HEAD, PUT, DELETE',
       'PATCH /kv/{key}');
is($r->header('Allow'), 'GET, HEAD, PUT, DELETE', 'Allow header');
$r = $t->http(POST => '/kvmq/kv/greeting');
is($r->status, 405, 'POST /kv/{key}: 405');
$r = $t->http(GET => '/kvmq/kv/n/incr');
err_is($r, 405, 'METHOD', 'method not allowed; use POST', 'GET .../incr');
is($r->header('Allow'), 'POST', 'Allow: POST');
$r = $t->http(DELETE => '/kvmq/kv');
is($r->status, 405, 'DELETE /kv: 405');
is($r->header('Allow'), 'GET, HEAD', 'Allow: GET, HEAD');
err_is($t->http(POST => '/kvmq/kv/n/multiply'), 404, 'NOTFOUND',
       'no such route', 'unknown operation');
err_is($t->http(GET => '/kvmq/nothing'), 404, 'NOTFOUND', 'no such route',
       'unknown route');
err_is($t->http(GET => '/kvmq/'), 404, 'NOTFOUND', 'no such route',
       'the location itself');
err_is($t->http(GET => '/kvmq/kv/a/b/c'), 404, 'NOTFOUND', 'no such route',
       'too many segments');

# a read-only location
err_is($t->http(PUT => '/ro/kv/greeting', {}, 'x'), 403, 'DENIED',
       qr/read-only/, 'PUT in a read-only location');
err_is($t->http(POST => '/ro/kv/n/incr'), 403, 'DENIED', qr/read-only/,
       'incr in a read-only location');
is($t->http(GET => '/ro/kv/greeting')->body, 'hello again',
   'GET in a read-only location');

# WRONGTYPE: string routes against a key of another type
$r = $t->http(POST => '/kvmq/cmd', {}, json_encode(['HSET', 'h', 'f', 'v']));
is($r->body, '1', 'a hash key');
err_is($t->http(GET => '/kvmq/kv/h'), 409, 'WRONGTYPE',
       'Operation against a key holding the wrong kind of value',
       'GET /kv/{key} of a hash');
is($t->http(HEAD => '/kvmq/kv/h')->status, 409, 'HEAD of a hash: 409');
err_is($t->http(POST => '/kvmq/kv/h/incr'), 409, 'WRONGTYPE',
       'Operation against a key holding the wrong kind of value',
       'incr of a hash');
err_is($t->http(POST => '/kvmq/kv/h/append', {}, 'x'), 409, 'WRONGTYPE',
       'Operation against a key holding the wrong kind of value',
       'append to a hash');
is($t->http(PUT => '/kvmq/kv/h', {}, 'now a string')->status, 200,
   'PUT replaces a key of any type, as SET does');
is($t->http(GET => '/kvmq/kv/h')->body, 'now a string', 'the new string');

# data written through one worker is read through the other
my @c = $t->worker_conns(2, path => '/kvmq/stats');
is(scalar(@c), 2, 'connections held by two workers');
SKIP: {
    skip 'only one worker reached', 5 unless @c == 2;
    my ($c1, $c2) = @c;
    is($c1->request(GET => '/kvmq/stats')->json->{worker}{pid}, $c1->{pid},
       '/stats names the worker that answered');
    is($c1->request(PUT => '/kvmq/kv/xw', {}, "from $c1->{pid}")->status,
       201, 'write through one worker');
    is($c2->request(GET => '/kvmq/kv/xw')->body, "from $c1->{pid}",
       'read through the other');
    $c2->request(POST => '/kvmq/kv/xc/incr') for 1 .. 5;
    $c1->request(POST => '/kvmq/kv/xc/incr') for 1 .. 5;
    is($c2->request(GET => '/kvmq/kv/xc')->body, '10', 'both workers count');
    is($c1->request(GET => '/kvmq/kv/xc')->body, '10', 'and agree');
    $_->close for @c;
}

$t->done;
