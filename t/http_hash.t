#!/usr/bin/perl

# The /hash REST routes (API.md "Hash"): every route with its exact status
# and body, every error it can answer (400 403 404 405 409 412 413 507),
# binary-safe names and values, ?encoding=base64, and two workers sharing
# one zone.

use strict;
use warnings;

use MIME::Base64 qw(encode_base64);
use Test::More;

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
my $r;

# PUT /hash/{key}: a JSON object of fields
reply_is($t->http(PUT => '/kvmq/hash/user', {},
             '{"name":"ann","age":42,"city":"Oslo"}'),
         200, '{"added":3}', 'PUT a new hash');
reply_is($t->http(PUT => '/kvmq/hash/user', {}, '{"age":43,"lang":"nb"}'),
         200, '{"added":1}', 'PUT: one field new, one replaced');
is($t->http(PUT => '/kvmq/hash/user', {}, '{"lang":"nn"}')
       ->header('X-Cmd'), 'HSET user', '$kvmq_command and $kvmq_key');

# GET /hash/{key}
$r = $t->http(GET => '/kvmq/hash/user');
is($r->status, 200, 'GET a hash: 200');
is_deeply(json_decode($r->body),
          { name => 'ann', age => '43', city => 'Oslo', lang => 'nn' },
          'GET: the object (numbers were stored as their text)');
is($r->header('X-Cmd'), 'HGETALL user', 'GET is HGETALL');
$r = $t->http(HEAD => '/kvmq/hash/user');
is($r->status, 200, 'HEAD: 200');
is($r->body, '', 'HEAD: no body');
ok($r->header('Content-Length') > 2, 'HEAD: Content-Length of the object');
reply_is($t->http(GET => '/kvmq/hash/nobody'), 200, '{}',
         'an absent hash reads as {}');

# GET /hash/{key}/{field}
reply_is($t->http(GET => '/kvmq/hash/user/name'), 200, '"ann"',
         'GET a field: a JSON string');
reply_is($t->http(GET => '/kvmq/hash/user/age'), 200, '"43"',
         'a number stored is a string');
err_is($t->http(GET => '/kvmq/hash/user/zip'), 404, 'NOTFOUND',
       'no such field', 'GET an absent field');
err_is($t->http(GET => '/kvmq/hash/nobody/zip'), 404, 'NOTFOUND',
       'no such field', 'GET a field of an absent hash');
is($t->http(HEAD => '/kvmq/hash/user/name')->status, 200, 'HEAD a field');
is($t->http(HEAD => '/kvmq/hash/user/zip')->status, 404,
   'HEAD an absent field: 404');

# PUT /hash/{key}/{field}: the raw body is the value
reply_is($t->http(PUT => '/kvmq/hash/user/zip', {}, '0150'), 201,
         '{"added":1}', 'PUT a new field: 201');
reply_is($t->http(PUT => '/kvmq/hash/user/zip', {}, '0151'), 200,
         '{"added":0}', 'PUT an existing field: 200');
is($t->http(GET => '/kvmq/hash/user/zip')->body, '"0151"', 'the new value');
reply_is($t->http(PUT => '/kvmq/hash/user/empty', {}, ''), 201,
         '{"added":1}', 'PUT an empty value');
is($t->http(GET => '/kvmq/hash/user/empty')->body, '""', 'an empty value');
err_is($t->http(PUT => '/kvmq/hash/user/zip', {'If-None-Match' => '*'}, 'x'),
       412, 'PRECONDITION', 'the field exists',
       'If-None-Match: * on an existing field');
is($t->http(GET => '/kvmq/hash/user/zip')->body, '"0151"',
   'the failed HSETNX wrote nothing');
$r = $t->http(PUT => '/kvmq/hash/user/nick', {'If-None-Match' => '*'}, 'A');
reply_is($r, 201, '{"added":1}', 'If-None-Match: * on a new field');
is($r->header('X-Cmd'), 'HSETNX user', 'If-None-Match: * is HSETNX');
err_is($t->http(PUT => '/kvmq/hash/user/zip', {'If-None-Match' => '"1"'},
           'x'), 400, 'BADREQ', 'PUT takes only If-None-Match: *',
       'If-None-Match with an ETag');
err_is($t->http(PUT => '/kvmq/hash/user/zip', {'If-Match' => '*'}, 'x'),
       400, 'BADREQ', 'a hash field takes no If-Match', 'If-Match');

# DELETE /hash/{key}/{field}
reply_is($t->http(DELETE => '/kvmq/hash/user/zip'), 200, '{"removed":1}',
         'DELETE a field');
reply_is($t->http(DELETE => '/kvmq/hash/user/zip'), 200, '{"removed":0}',
         'DELETE it again');
reply_is($t->http(DELETE => '/kvmq/hash/nobody/zip'), 200,
         '{"removed":0}', 'DELETE a field of an absent hash');

# POST /hash/{key}/{field}/incr and /incrbyfloat
reply_is($t->http(POST => '/kvmq/hash/user/age/incr'), 200, '{"value":44}',
         'incr');
reply_is($t->http(POST => '/kvmq/hash/user/age/incr?by=-4'), 200,
         '{"value":40}', 'incr?by=-4');
reply_is($t->http(POST => '/kvmq/hash/user/visits/incr?by=5'), 200,
         '{"value":5}', 'incr of an absent field');
err_is($t->http(POST => '/kvmq/hash/user/age/incr?by=x'), 400, 'BADREQ',
       'by must be an integer', 'incr?by=x');
err_is($t->http(POST => '/kvmq/hash/user/age/incr?by=1.5'), 400, 'BADREQ',
       'by must be an integer', 'incr?by=1.5');
err_is($t->http(POST => '/kvmq/hash/user/name/incr'), 400, 'BADREQ',
       'hash value is not an integer', 'incr of a text field');
err_is($t->http(POST => '/kvmq/hash/user/age/incr?by=9223372036854775807'),
       400, 'BADREQ', 'increment or decrement would overflow',
       'incr overflowing');
reply_is($t->http(POST => '/kvmq/hash/user/age/incrbyfloat?by=0.25'), 200,
         '{"value":40.25}', 'incrbyfloat: a number');
reply_is($t->http(POST => '/kvmq/hash/user/age/incrbyfloat'), 200,
         '{"value":41.25}', 'incrbyfloat defaults to 1');
is($t->http(GET => '/kvmq/hash/user/age')->body, '"41.25"',
   'the field holds the text');
err_is($t->http(POST => '/kvmq/hash/user/age/incrbyfloat?by=abc'), 400,
       'BADREQ', qr/not a valid float/, 'incrbyfloat?by=abc');
err_is($t->http(POST => '/kvmq/hash/user/name/incrbyfloat'), 400,
       'BADREQ', qr/not a float/, 'incrbyfloat of a text field');
err_is($t->http(POST => '/kvmq/hash/user/age/multiply'), 404, 'NOTFOUND',
       'no such route', 'an unknown operation');

# JSON bodies of PUT /hash/{key}
err_is($t->http(PUT => '/kvmq/hash/j', {}, '["a","b"]'), 400, 'BADREQ',
       'the body must be a JSON object of strings or numbers', 'an array');
err_is($t->http(PUT => '/kvmq/hash/j', {}, '"a"'), 400, 'BADREQ',
       'the body must be a JSON object of strings or numbers', 'a string');
err_is($t->http(PUT => '/kvmq/hash/j', {}, '{"a":{"b":1}}'), 400, 'BADREQ',
       'the body must be a JSON object of strings or numbers',
       'a nested object');
err_is($t->http(PUT => '/kvmq/hash/j', {}, '{"a":[1]}'), 400, 'BADREQ',
       'the body must be a JSON object of strings or numbers',
       'an array value');
err_is($t->http(PUT => '/kvmq/hash/j', {}, '{"a":null}'), 400, 'BADREQ',
       'the body must be a JSON object of strings or numbers', 'null');
err_is($t->http(PUT => '/kvmq/hash/j', {}, '{"a":true}'), 400, 'BADREQ',
       'the body must be a JSON object of strings or numbers', 'a boolean');
err_is($t->http(PUT => '/kvmq/hash/j', {}, '{}'), 400, 'BADREQ',
       'the JSON object is empty', 'an empty object');
err_is($t->http(PUT => '/kvmq/hash/j', {}, ''), 400, 'BADREQ',
       qr/^malformed JSON/, 'no body');
err_is($t->http(PUT => '/kvmq/hash/j', {}, '{"a":"b"'), 400, 'BADREQ',
       qr/^malformed JSON/, 'malformed JSON');
err_is($t->http(PUT => '/kvmq/hash/j', {}, '{"a":"b"} {}'), 400, 'BADREQ',
       qr/^malformed JSON/, 'two documents');
err_is($t->http(PUT => '/kvmq/hash/j?encoding=base64', {}, '{"!!":"YQ=="}'),
       400, 'BADREQ', 'invalid base64 string', 'bad base64 in a name');
is($t->http(GET => '/kvmq/cmd/EXISTS/j')->body, '0',
   'no failed body wrote anything');
reply_is($t->http(PUT => '/kvmq/hash/j', {}, '{"a":"1","a":"2","b":"\u0000"}'),
         200, '{"added":2}', 'a repeated name: the last value wins');
is($t->http(GET => '/kvmq/hash/j/a')->body, '"2"', 'the last value');
is($t->http(GET => '/kvmq/hash/j/b')->body, '"\u0000"',
   'a NUL byte from \u0000');

# names and values are bytes: percent-encoded names, base64 in JSON
my $field = "a/b%c?d \x01\xff";
(my $enc = $field) =~ s/([^A-Za-z0-9_.~-])/sprintf('%%%02X', ord $1)/ge;
my $bin = "v\x00\xfe\xff";
reply_is($t->http(PUT => "/kvmq/hash/bin/$enc", {}, $bin), 201,
         '{"added":1}', 'PUT a binary field name and value');
is($t->http(GET => "/kvmq/hash/bin/$enc")->body,
   '{"base64":"' . $b64->($bin) . '"}',
   'a value that is not UTF-8 is {"base64": ...}');
is($t->http(GET => "/kvmq/hash/bin/$enc?encoding=base64")->body,
   '"' . $b64->($bin) . '"', '?encoding=base64: the value in base64');
is_deeply(json_decode($t->http(GET => '/kvmq/hash/bin?encoding=base64')->body),
          { $b64->($field) => $b64->($bin) },
          '?encoding=base64: names and values of the object in base64');
reply_is($t->http(PUT => '/kvmq/hash/bin?encoding=base64', {},
             json_encode({ $b64->("k\xff") => $b64->("\x00"),
                           $b64->('n') => 7 })),
         200, '{"added":2}', 'PUT ?encoding=base64: names and values');
is($t->http(POST => '/kvmq/cmd?encoding=base64', {},
       json_encode([map { $b64->($_) } 'HGET', 'bin', "k\xff"]))->body,
   '"' . $b64->("\x00") . '"', 'the base64 name and value reached the engine');
is($t->http(GET => '/kvmq/hash/bin/n')->body, '"7"',
   'a JSON number stays a number under base64');
reply_is($t->http(PUT => "/kvmq/hash/$enc", {}, '{"f":"v"}'), 200,
         '{"added":1}', 'a binary key');
is($t->http(GET => "/kvmq/hash/$enc/f")->body, '"v"', 'read back');

# the last field gone, the key is gone
$t->http(PUT => '/kvmq/hash/one/f', {}, 'v');
$t->http(DELETE => '/kvmq/hash/one/f');
is($t->http(GET => '/kvmq/cmd/EXISTS/one')->body, '0',
   'deleting the last field deletes the hash');

# methods and routes
$r = $t->http(PATCH => '/kvmq/hash/user');
err_is($r, 405, 'METHOD', 'method not allowed; use GET, HEAD, PUT',
       'PATCH /hash/{key}');
is($r->header('Allow'), 'GET, HEAD, PUT', 'Allow of /hash/{key}');
is($t->http(DELETE => '/kvmq/hash/user')->status, 405,
   'DELETE /hash/{key}: 405');
$r = $t->http(POST => '/kvmq/hash/user/name');
err_is($r, 405, 'METHOD', 'method not allowed; use GET, HEAD, PUT, DELETE',
       'POST /hash/{key}/{field}');
is($r->header('Allow'), 'GET, HEAD, PUT, DELETE',
   'Allow of /hash/{key}/{field}');
$r = $t->http(GET => '/kvmq/hash/user/age/incr');
err_is($r, 405, 'METHOD', 'method not allowed; use POST', 'GET .../incr');
is($r->header('Allow'), 'POST', 'Allow of .../incr');
is($t->http(PUT => '/kvmq/hash/user/age/incrbyfloat')->header('Allow'),
   'POST', 'Allow of .../incrbyfloat');
err_is($t->http(GET => '/kvmq/hash'), 404, 'NOTFOUND', 'no such route',
       '/hash');
err_is($t->http(GET => '/kvmq/hash/'), 404, 'NOTFOUND', 'no such route',
       '/hash/');
is($t->http(GET => '/kvmq/hash/user/')->body,
   $t->http(GET => '/kvmq/hash/user')->body,
   'a trailing slash names the hash');
err_is($t->http(GET => '/kvmq/hash/a/b/incr/x'), 404, 'NOTFOUND',
       'no such route', 'too many segments');

# WRONGTYPE both ways
$t->http(PUT => '/kvmq/kv/str', {}, 'text');
for my $c (['GET', '/kvmq/hash/str'], ['PUT', '/kvmq/hash/str', '{"a":1}'],
           ['GET', '/kvmq/hash/str/f'], ['PUT', '/kvmq/hash/str/f', 'v'],
           ['PUT', '/kvmq/hash/str/f', 'v', {'If-None-Match' => '*'}],
           ['DELETE', '/kvmq/hash/str/f'],
           ['POST', '/kvmq/hash/str/f/incr'],
           ['POST', '/kvmq/hash/str/f/incrbyfloat'])
{
    my ($m, $p, $body, $h) = @$c;
    err_is($t->http($m => $p, $h // {}, $body), 409, 'WRONGTYPE',
           'Operation against a key holding the wrong kind of value',
           "$m $p on a string");
}
err_is($t->http(GET => '/kvmq/kv/user'), 409, 'WRONGTYPE',
       'Operation against a key holding the wrong kind of value',
       'GET /kv/{key} of a hash');
is($t->http(GET => '/kvmq/kv/str')->body, 'text', 'the string is intact');

# a read-only location
is($t->http(GET => '/ro/hash/user/name')->body, '"ann"', 'read-only: GET');
is($t->http(GET => '/ro/hash/nobody')->body, '{}', 'read-only: GET a hash');
err_is($t->http(PUT => '/ro/hash/user', {}, '{"x":"y"}'), 403, 'DENIED',
       qr/read-only/, 'read-only: PUT a hash');
err_is($t->http(PUT => '/ro/hash/user/name', {}, 'x'), 403, 'DENIED',
       qr/read-only/, 'read-only: PUT a field');
err_is($t->http(DELETE => '/ro/hash/user/name'), 403, 'DENIED',
       qr/read-only/, 'read-only: DELETE a field');
err_is($t->http(POST => '/ro/hash/user/age/incr'), 403, 'DENIED',
       qr/read-only/, 'read-only: incr');
err_is($t->http(POST => '/ro/hash/user/age/incrbyfloat'), 403, 'DENIED',
       qr/read-only/, 'read-only: incrbyfloat');
is($t->http(GET => '/kvmq/hash/user/name')->body, '"ann"',
   'read-only wrote nothing');

# limits: kvmq_max_key 16, kvmq_max_value 64
my $k17 = 'k' x 17;
for my $c (['GET', "/small/hash/$k17"], ['PUT', "/small/hash/$k17", '{}'],
           ['GET', "/small/hash/$k17/f"], ['PUT', "/small/hash/$k17/f", 'v'],
           ['DELETE', "/small/hash/$k17/f"],
           ['POST', "/small/hash/$k17/f/incr"])
{
    my ($m, $p, $body) = @$c;
    err_is($t->http($m => $p, {}, $body), 413, 'TOOLARGE',
           'key of 17 bytes is over kvmq_max_key (16)', "$m a 17-byte key");
}
reply_is($t->http(PUT => '/small/hash/lim/f', {}, 'v' x 64), 201,
         '{"added":1}', 'a 64-byte value');
err_is($t->http(PUT => '/small/hash/lim/f', {}, 'v' x 65), 413, 'TOOLARGE',
       'body of 65 bytes is over kvmq_max_value (64)', 'a 65-byte value');
err_is($t->http(PUT => '/small/hash/lim/f', ['Transfer-Encoding' => 'chunked'],
           "41\r\n" . ('v' x 65) . "\r\n0\r\n\r\n"), 413, 'TOOLARGE',
       'body of 65 bytes is over kvmq_max_value (64)',
       'a chunked 65-byte value');
err_is($t->http(PUT => '/small/hash/lim/' . ('f' x 65), {}, 'v'), 413,
       'TOOLARGE', 'value of 65 bytes is over kvmq_max_value (64)',
       'a 65-byte field name');
err_is($t->http(PUT => '/small/hash/lim', {},
           json_encode({ f => 'v' x 60 })), 413, 'TOOLARGE',
       qr/^body of \d+ bytes is over kvmq_max_value \(64\)$/,
       'a JSON body over the limit');
is($t->http(GET => '/kvmq/hash/lim/f')->body, '"' . ('v' x 64) . '"',
   'nothing over the limits was written');

# a full zone: 507, the hash as it was
# (strings of smaller and smaller sizes, then small hashes until one more
# does not fit either)
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
$t->http(PUT => '/tiny/hash/h', {}, '{"a":"1","n":"5"}');
ok(fill('/tiny', sub { [POST => "/tiny/hash/fill$_[0]/n/incr"] }) > 20,
   'the 1m zone is full');
err_is($t->http(PUT => '/tiny/hash/h', {},
           json_encode({ map { ("f$_" => 'x' x 1000) } 1 .. 50 })), 507,
       'NOMEM', qr/full/, 'PUT a hash on a full zone');
err_is($t->http(PUT => '/tiny/hash/h/b', {}, 'x' x 50_000), 507, 'NOMEM',
       qr/full/, 'PUT a field on a full zone');
err_is($t->http(PUT => '/tiny/hash/new/b', {}, 'x' x 100), 507, 'NOMEM',
       qr/full/, 'PUT a field of a new hash on a full zone');
err_is($t->http(POST => '/tiny/hash/new/n/incr'), 507, 'NOMEM', qr/full/,
       'incr creating a hash on a full zone');
err_is($t->http(POST => '/tiny/hash/new/n/incrbyfloat'), 507, 'NOMEM',
       qr/full/, 'incrbyfloat creating a hash on a full zone');
is_deeply(json_decode($t->http(GET => '/tiny/hash/h')->body),
          { a => '1', n => '5' }, 'the hash is as it was');
is($t->http(GET => '/tiny/cmd/EXISTS/new')->body, '0', 'no new hash');

# two workers, one zone
my @c = $t->worker_conns(2, path => '/kvmq/hash/nobody');
SKIP: {
    skip 'only one worker reached', 3 unless @c == 2;
    my ($c1, $c2) = @c;
    is($c1->request(PUT => '/kvmq/hash/xw/f', {}, "from $c1->{pid}")->status,
       201, 'write a field through one worker');
    is($c2->request(GET => '/kvmq/hash/xw/f')->body, "\"from $c1->{pid}\"",
       'read it through the other');
    $c1->request(POST => '/kvmq/hash/xw/n/incr') for 1 .. 5;
    $c2->request(POST => '/kvmq/hash/xw/n/incr') for 1 .. 5;
    is($c1->request(GET => '/kvmq/hash/xw/n')->body, '"10"',
       'both workers count');
    $_->close for @c;
}

$t->done;
