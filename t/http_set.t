#!/usr/bin/perl

# The /set REST routes (API.md "Set"): every route with its exact status
# and body, every error it can answer (403 404 405 409 413 507),
# binary-safe members, ?encoding=base64, and two workers sharing one
# zone.

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


sub members {
    my ($path) = @_;
    return [sort @{ json_decode($t->http(GET => $path)->body) }];
}

my $b64 = sub { encode_base64($_[0], '') };
my $r;

# PUT /set/{key}/{member}
$r = $t->http(PUT => '/kvmq/set/tags/red');
reply_is($r, 201, '{"added":1}', 'PUT a new member: 201');
is($r->header('X-Cmd'), 'SADD tags', 'PUT is SADD');
reply_is($t->http(PUT => '/kvmq/set/tags/red'), 200, '{"added":0}',
         'PUT it again: 200');
reply_is($t->http(PUT => '/kvmq/set/tags/blue', {}, 'a body is ignored'),
         201, '{"added":1}', 'PUT another');
$t->http(PUT => "/kvmq/set/tags/$_") for 1 .. 3;

# GET /set/{key}
$r = $t->http(GET => '/kvmq/set/tags');
is($r->status, 200, 'GET a set: 200');
is($r->header('Content-Type'), 'application/json', 'GET: JSON');
is($r->header('X-Cmd'), 'SMEMBERS tags', 'GET is SMEMBERS');
is_deeply(members('/kvmq/set/tags'), [qw(1 2 3 blue red)],
          'GET: the members (in no order)');
$r = $t->http(HEAD => '/kvmq/set/tags');
is($r->status, 200, 'HEAD: 200');
is($r->body, '', 'HEAD: no body');
reply_is($t->http(GET => '/kvmq/set/nothing'), 200, '[]',
         'an absent set reads as []');

# GET /set/{key}/{member}
$r = $t->http(GET => '/kvmq/set/tags/red');
reply_is($r, 200, '"red"', 'GET a member: the member');
is($r->header('X-Cmd'), 'SISMEMBER tags', 'GET a member is SISMEMBER');
reply_is($t->http(GET => '/kvmq/set/tags/2'), 200, '"2"',
         'an integer member (intset) is a string');
err_is($t->http(GET => '/kvmq/set/tags/green'), 404, 'NOTFOUND',
       'not a member', 'GET a non-member');
err_is($t->http(GET => '/kvmq/set/nothing/red'), 404, 'NOTFOUND',
       'not a member', 'GET a member of an absent set');
is($t->http(HEAD => '/kvmq/set/tags/red')->status, 200, 'HEAD a member');
is($t->http(HEAD => '/kvmq/set/tags/green')->status, 404,
   'HEAD a non-member: 404');

# DELETE /set/{key}/{member}
$r = $t->http(DELETE => '/kvmq/set/tags/red');
reply_is($r, 200, '{"removed":1}', 'DELETE a member');
is($r->header('X-Cmd'), 'SREM tags', 'DELETE is SREM');
reply_is($t->http(DELETE => '/kvmq/set/tags/red'), 200, '{"removed":0}',
         'DELETE it again');
reply_is($t->http(DELETE => '/kvmq/set/nothing/red'), 200, '{"removed":0}',
         'DELETE from an absent set');
$t->http(PUT => '/kvmq/set/one/m');
$t->http(DELETE => '/kvmq/set/one/m');
is($t->http(GET => '/kvmq/cmd/EXISTS/one')->body, '0',
   'removing the last member deletes the set');

# members are bytes
my $m = "a/b%c?d \x01\xff";
(my $enc = $m) =~ s/([^A-Za-z0-9_.~-])/sprintf('%%%02X', ord $1)/ge;
reply_is($t->http(PUT => "/kvmq/set/bin/$enc"), 201, '{"added":1}',
         'PUT a binary member');
reply_is($t->http(GET => "/kvmq/set/bin/$enc"), 200,
         '{"base64":"' . $b64->($m) . '"}',
         'a member that is not UTF-8 is {"base64": ...}');
reply_is($t->http(GET => "/kvmq/set/bin/$enc?encoding=base64"), 200,
         '"' . $b64->($m) . '"', '?encoding=base64: the member');
reply_is($t->http(GET => '/kvmq/set/bin?encoding=base64'), 200,
         '["' . $b64->($m) . '"]', '?encoding=base64: the members');
is($t->http(POST => '/kvmq/cmd?encoding=base64', {},
       json_encode([map { $b64->($_) } 'SISMEMBER', 'bin', $m]))->body,
   '1', 'the member reached the engine byte for byte');
$t->http(PUT => "/kvmq/set/$enc/x");
is($t->http(GET => "/kvmq/set/$enc")->body, '["x"]', 'a binary key');

# many members: past the compact encodings
$t->http(PUT => "/kvmq/set/big/$_") for 1 .. 600;
is(scalar @{ members('/kvmq/set/big') }, 600, '600 integer members');
$t->http(PUT => "/kvmq/set/big/s$_") for 1 .. 200;
is(scalar @{ members('/kvmq/set/big') }, 800, 'and 200 strings');
is($t->http(GET => '/kvmq/set/big/s200')->body, '"s200"',
   'a member of the big set');

# methods and routes
$r = $t->http(PUT => '/kvmq/set/tags');
err_is($r, 405, 'METHOD', 'method not allowed; use GET, HEAD',
       'PUT /set/{key}');
is($r->header('Allow'), 'GET, HEAD', 'Allow of /set/{key}');
is($t->http(DELETE => '/kvmq/set/tags')->status, 405,
   'DELETE /set/{key}: 405');
$r = $t->http(POST => '/kvmq/set/tags/red');
err_is($r, 405, 'METHOD', 'method not allowed; use GET, HEAD, PUT, DELETE',
       'POST /set/{key}/{member}');
is($r->header('Allow'), 'GET, HEAD, PUT, DELETE',
   'Allow of /set/{key}/{member}');
err_is($t->http(GET => '/kvmq/set'), 404, 'NOTFOUND', 'no such route',
       '/set');
err_is($t->http(GET => '/kvmq/set/a/b/c'), 404, 'NOTFOUND', 'no such route',
       'too many segments');

# WRONGTYPE
$t->http(PUT => '/kvmq/kv/str', {}, 'text');
for my $c (['GET', '/kvmq/set/str'], ['GET', '/kvmq/set/str/m'],
           ['PUT', '/kvmq/set/str/m'], ['DELETE', '/kvmq/set/str/m'])
{
    my ($mth, $p) = @$c;
    err_is($t->http($mth => $p), 409, 'WRONGTYPE',
           'Operation against a key holding the wrong kind of value',
           "$mth $p on a string");
}
err_is($t->http(GET => '/kvmq/kv/tags'), 409, 'WRONGTYPE',
       'Operation against a key holding the wrong kind of value',
       'GET /kv/{key} of a set');

# a read-only location
is($t->http(GET => '/ro/set/tags/blue')->body, '"blue"', 'read-only: GET');
err_is($t->http(PUT => '/ro/set/tags/x'), 403, 'DENIED', qr/read-only/,
       'read-only: PUT');
err_is($t->http(DELETE => '/ro/set/tags/blue'), 403, 'DENIED',
       qr/read-only/, 'read-only: DELETE');
is($t->http(GET => '/kvmq/set/tags/blue')->status, 200,
   'read-only wrote nothing');

# limits: kvmq_max_key 16, kvmq_max_value 64
my $k17 = 'k' x 17;
for my $c (['GET', "/small/set/$k17"], ['GET', "/small/set/$k17/m"],
           ['PUT', "/small/set/$k17/m"], ['DELETE', "/small/set/$k17/m"])
{
    my ($mth, $p) = @$c;
    err_is($t->http($mth => $p), 413, 'TOOLARGE',
           'key of 17 bytes is over kvmq_max_key (16)', "$mth a 17-byte key");
}
reply_is($t->http(PUT => '/small/set/lim/' . ('m' x 64)), 201,
         '{"added":1}', 'a 64-byte member');
err_is($t->http(PUT => '/small/set/lim/' . ('m' x 65)), 413, 'TOOLARGE',
       'value of 65 bytes is over kvmq_max_value (64)', 'a 65-byte member');
is_deeply(members('/kvmq/set/lim'), ['m' x 64],
          'nothing over the limits was written');

# a full zone: 507, the set as it was
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
$t->http(PUT => '/tiny/set/s/a');
ok(fill('/tiny', sub { [PUT => "/tiny/set/fill$_[0]/m"] }) > 20,
   'the 1m zone is full');
err_is($t->http(PUT => '/tiny/set/new/m'), 507, 'NOMEM', qr/full/,
       'PUT creating a set on a full zone');
my $long = 'x' x 3000;
err_is($t->http(PUT => "/tiny/set/s/$long"), 507, 'NOMEM', qr/full/,
       'PUT a long member on a full zone');
is($t->http(GET => '/tiny/set/s')->body, '["a"]', 'the set is as it was');
is($t->http(GET => '/tiny/cmd/EXISTS/new')->body, '0', 'no new set');

# two workers, one zone
my @c = $t->worker_conns(2, path => '/kvmq/set/nothing');
SKIP: {
    skip 'only one worker reached', 2 unless @c == 2;
    my ($c1, $c2) = @c;
    is($c1->request(PUT => '/kvmq/set/xw/m')->status, 201,
       'add through one worker');
    is($c2->request(PUT => '/kvmq/set/xw/m')->body, '{"added":0}',
       'the other sees the member');
    $_->close for @c;
}

$t->done;
