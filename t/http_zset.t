#!/usr/bin/perl

# The /zset REST routes (API.md "Sorted set"): every route with its exact
# status and body, the JSON of scores (numbers, "inf" and "-inf"), every
# error it can answer (400 403 404 405 409 413 507), binary-safe members,
# ?encoding=base64, and two workers sharing one zone.

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


sub get_is {
    my ($path, $body, $name) = @_;
    reply_is($t->http(GET => $path), 200, $body, $name);
}

my $b64 = sub { encode_base64($_[0], '') };
my $r;

# PUT /zset/{key}/{member}: the body is the score
$r = $t->http(PUT => '/kvmq/zset/lb/ann', {}, '10');
reply_is($r, 201, '{"score":10}', 'PUT a new member: 201');
is($r->header('X-Cmd'), 'ZADD lb', 'PUT is ZADD');
reply_is($t->http(PUT => '/kvmq/zset/lb/ann', {}, '12.5'), 200,
         '{"score":12.5}', 'PUT a new score: 200');
reply_is($t->http(PUT => '/kvmq/zset/lb/bob', {}, '+inf'), 201,
         '{"score":"inf"}', '+inf is "inf"');
reply_is($t->http(PUT => '/kvmq/zset/lb/cy', {}, '-inf'), 201,
         '{"score":"-inf"}', '-inf is "-inf"');
reply_is($t->http(PUT => '/kvmq/zset/lb/dee', {}, '1e3'), 201,
         '{"score":1000}', '1e3 is 1000');
reply_is($t->http(PUT => '/kvmq/zset/lb/eve', {}, '0.1'), 201,
         '{"score":0.1}', '0.1 stays 0.1');
reply_is($t->http(PUT => '/kvmq/zset/lb/fay', {}, '-0'), 201,
         '{"score":0}', '-0 is 0');
reply_is($t->http(PUT => '/kvmq/zset/lb/gus', {}, '-2.75'), 201,
         '{"score":-2.75}', 'a negative score');
err_is($t->http(PUT => '/kvmq/zset/lb/ann', {}, 'x'), 400, 'BADREQ',
       'value is not a valid float', 'PUT a score x');
err_is($t->http(PUT => '/kvmq/zset/lb/ann', {}, ''), 400, 'BADREQ',
       'value is not a valid float', 'PUT no score');
err_is($t->http(PUT => '/kvmq/zset/lb/ann', {}, 'nan'), 400, 'BADREQ',
       'value is not a valid float', 'PUT nan');
err_is($t->http(PUT => '/kvmq/zset/lb/ann', {}, '1 '), 400, 'BADREQ',
       'value is not a valid float', 'PUT a score with a space');
reply_is($t->http(GET => '/kvmq/zset/lb/ann'), 200,
         '{"score":12.5,"rank":4}', 'the failed PUTs changed nothing');

# PUT ?incr: ZINCRBY
$r = $t->http(PUT => '/kvmq/zset/lb/ann?incr', {}, '2.5');
reply_is($r, 200, '{"score":15}', 'PUT ?incr adds');
is($r->header('X-Cmd'), 'ZINCRBY lb', '?incr is ZINCRBY');
reply_is($t->http(PUT => '/kvmq/zset/lb/hal?incr=1', {}, '5'), 200,
         '{"score":5}', '?incr=1 of a new member');
reply_is($t->http(PUT => '/kvmq/zset/lb/hal?incr=0', {}, '4'), 200,
         '{"score":4}', '?incr=0 is a plain PUT');
reply_is($t->http(PUT => '/kvmq/zset/lb/bob?incr', {}, '1'), 200,
         '{"score":"inf"}', 'inf + 1 is inf');
err_is($t->http(PUT => '/kvmq/zset/lb/bob?incr', {}, '-inf'), 400,
       'BADREQ', 'resulting score is not a number (NaN)', 'inf - inf');
err_is($t->http(PUT => '/kvmq/zset/lb/ann?incr', {}, 'x'), 400, 'BADREQ',
       'value is not a valid float', '?incr by x');
err_is($t->http(PUT => '/kvmq/zset/lb/ann?incr=yes', {}, '1'), 400,
       'BADREQ', 'incr must be a flag (1 or 0)', '?incr=yes');

# GET /zset/{key}/{member}: score and rank under one lock
$r = $t->http(GET => '/kvmq/zset/lb/ann');
reply_is($r, 200, '{"score":15,"rank":5}', 'GET a member');
is($r->header('X-Cmd'), 'ZSCORE lb', 'GET a member is ZSCORE (+ ZRANK)');
reply_is($t->http(GET => '/kvmq/zset/lb/ann?rev'), 200,
         '{"score":15,"rank":2}', '?rev: the rank from the top');
reply_is($t->http(GET => '/kvmq/zset/lb/bob'), 200,
         '{"score":"inf","rank":7}', 'an infinite score');
reply_is($t->http(GET => '/kvmq/zset/lb/cy'), 200,
         '{"score":"-inf","rank":0}', 'a negative infinite score');
err_is($t->http(GET => '/kvmq/zset/lb/zed'), 404, 'NOTFOUND',
       'not a member', 'GET a non-member');
err_is($t->http(GET => '/kvmq/zset/none/zed'), 404, 'NOTFOUND',
       'not a member', 'GET a member of an absent set');
err_is($t->http(GET => '/kvmq/zset/lb/ann?rev=2'), 400, 'BADREQ',
       'rev must be a flag (1 or 0)', 'GET ?rev=2');
is($t->http(HEAD => '/kvmq/zset/lb/ann')->status, 200, 'HEAD a member');
is($t->http(HEAD => '/kvmq/zset/lb/zed')->status, 404,
   'HEAD a non-member: 404');

# GET /zset/{key}: ranges
# lb: cy -inf, gus -2.75, fay 0, eve 0.1, hal 4, ann 15, dee 1000, bob inf
get_is('/kvmq/zset/lb', '["cy","gus","fay","eve","hal","ann","dee","bob"]',
       'by rank, all');
is($t->http(GET => '/kvmq/zset/lb')->header('X-Cmd'), 'ZRANGE lb',
   'GET is ZRANGE');
get_is('/kvmq/zset/lb?withscores',
       '[["cy","-inf"],["gus",-2.75],["fay",0],["eve",0.1],["hal",4],'
       . '["ann",15],["dee",1000],["bob","inf"]]',
       'withscores: [member, score] pairs, scores as numbers');
get_is('/kvmq/zset/lb?min=1&max=2', '["gus","fay"]', 'ranks 1..2');
get_is('/kvmq/zset/lb?min=-2', '["dee","bob"]', 'ranks -2..-1');
get_is('/kvmq/zset/lb?max=1&rev', '["bob","dee"]', 'the top two (rev)');
get_is('/kvmq/zset/lb?max=0&rev=true&withscores=1', '[["bob","inf"]]',
       'rev=true&withscores=1');
get_is('/kvmq/zset/lb?by=score&min=0&max=100',
       '["fay","eve","hal","ann"]', 'by score 0..100');
get_is('/kvmq/zset/lb?by=score&min=(0&max=(15',
       '["eve","hal"]', 'exclusive bounds');
get_is('/kvmq/zset/lb?by=score&min=0&max=100&rev&withscores',
       '[["ann",15],["hal",4],["eve",0.1],["fay",0]]',
       'by score, rev: min and max keep their meaning');
get_is('/kvmq/zset/lb?by=score', '["cy","gus","fay","eve","hal","ann","dee",'
       . '"bob"]', 'by score: -inf..+inf by default');
get_is('/kvmq/zset/lb?by=score&max=-inf', '["cy"]', 'max=-inf');
get_is('/kvmq/zset/lb?by=score&min=0&offset=1&count=2', '["eve","hal"]',
       'offset and count');
get_is('/kvmq/zset/lb?by=score&min=0&offset=3', '["ann","dee","bob"]',
       'offset alone: count -1');
get_is('/kvmq/zset/lb?by=score&count=1&rev', '["bob"]',
       'count alone: offset 0');
get_is('/kvmq/zset/lb?by=score&min=5000&max=6000', '[]', 'an empty range');
get_is('/kvmq/zset/none', '[]', 'an absent set reads as []');
get_is('/kvmq/zset/none?by=score&withscores', '[]',
       'an absent set by score');
for (qw(a b c d e)) { $t->http(PUT => "/kvmq/zset/lex/$_", {}, '0') }
get_is('/kvmq/zset/lex?by=lex', '["a","b","c","d","e"]', 'by lex: all');
get_is('/kvmq/zset/lex?by=lex&min=[b&max=(d', '["b","c"]',
       'by lex [b..(d');
get_is('/kvmq/zset/lex?by=lex&min=[b&max=(d&rev', '["c","b"]',
       'by lex, rev');
get_is('/kvmq/zset/lex?by=lex&min=(a&count=2', '["b","c"]',
       'by lex with count');
err_is($t->http(GET => '/kvmq/zset/lex?by=lex&withscores'), 400, 'BADREQ',
       qr/WITHSCORES not supported in combination with BYLEX/,
       'by lex withscores');
err_is($t->http(GET => '/kvmq/zset/lex?by=lex&min=b'), 400, 'BADREQ',
       qr/not valid string range item/, 'by lex min=b');
err_is($t->http(GET => '/kvmq/zset/lb?by=score&min=x'), 400, 'BADREQ',
       qr/min or max is not a float/, 'by score min=x');
err_is($t->http(GET => '/kvmq/zset/lb?min=x'), 400, 'BADREQ',
       'min must be an integer (a rank)', 'by rank min=x');
err_is($t->http(GET => '/kvmq/zset/lb?max=1.5'), 400, 'BADREQ',
       'max must be an integer (a rank)', 'by rank max=1.5');
err_is($t->http(GET => '/kvmq/zset/lb?count=2'), 400, 'BADREQ',
       qr/LIMIT is only supported in combination with either BYSCORE or BYLEX/,
       'by rank with count');
err_is($t->http(GET => '/kvmq/zset/lb?by=score&offset=x'), 400, 'BADREQ',
       'offset must be an integer', 'offset=x');
err_is($t->http(GET => '/kvmq/zset/lb?by=score&count=1.5'), 400, 'BADREQ',
       'count must be an integer', 'count=1.5');
err_is($t->http(GET => '/kvmq/zset/lb?by=name'), 400, 'BADREQ',
       'by must be rank, score or lex', 'by=name');
err_is($t->http(GET => '/kvmq/zset/lb?rev=no'), 400, 'BADREQ',
       'rev must be a flag (1 or 0)', 'rev=no');
err_is($t->http(GET => '/kvmq/zset/lb?withscores=2'), 400, 'BADREQ',
       'withscores must be a flag (1 or 0)', 'withscores=2');
$r = $t->http(HEAD => '/kvmq/zset/lb');
is($r->status, 200, 'HEAD: 200');
is($r->body, '', 'HEAD: no body');

# DELETE /zset/{key}/{member}
$r = $t->http(DELETE => '/kvmq/zset/lb/ann');
reply_is($r, 200, '{"removed":1}', 'DELETE a member');
is($r->header('X-Cmd'), 'ZREM lb', 'DELETE is ZREM');
reply_is($t->http(DELETE => '/kvmq/zset/lb/ann'), 200, '{"removed":0}',
         'DELETE it again');
reply_is($t->http(DELETE => '/kvmq/zset/none/ann'), 200, '{"removed":0}',
         'DELETE from an absent set');
$t->http(PUT => '/kvmq/zset/one/m', {}, '1');
$t->http(DELETE => '/kvmq/zset/one/m');
is($t->http(GET => '/kvmq/cmd/EXISTS/one')->body, '0',
   'removing the last member deletes the set');

# members are bytes; scores stay numbers under ?encoding=base64
my $m = "a/b%c?d \x01\xff";
(my $enc = $m) =~ s/([^A-Za-z0-9_.~-])/sprintf('%%%02X', ord $1)/ge;
reply_is($t->http(PUT => "/kvmq/zset/bin/$enc", {}, '1.5'), 201,
         '{"score":1.5}', 'PUT a binary member');
$t->http(PUT => '/kvmq/zset/bin/top', {}, 'inf');
get_is('/kvmq/zset/bin?withscores',
       '[[{"base64":"' . $b64->($m) . '"},1.5],["top","inf"]]',
       'a member that is not UTF-8 is {"base64": ...}');
get_is('/kvmq/zset/bin?withscores&encoding=base64',
       '[["' . $b64->($m) . '",1.5],["' . $b64->('top') . '","inf"]]',
       '?encoding=base64: members in base64, scores as they are');
reply_is($t->http(GET => "/kvmq/zset/bin/$enc"), 200,
         '{"score":1.5,"rank":0}', 'GET the binary member');
is($t->http(POST => '/kvmq/cmd?encoding=base64', {},
       json_encode([map { $b64->($_) } 'ZSCORE', 'bin', $m]))->body,
   '1.5', 'the member reached the engine byte for byte');

# many members: past the compact encoding
$t->http(PUT => "/kvmq/zset/big/m$_", {}, $_ * 2) for 1 .. 200;
reply_is($t->http(GET => '/kvmq/zset/big/m150'), 200,
         '{"score":300,"rank":149}', 'a member of a big set');
get_is('/kvmq/zset/big?by=score&min=(396&withscores',
       '[["m199",398],["m200",400]]', 'a score range of a big set');

# methods and routes
$r = $t->http(PUT => '/kvmq/zset/lb');
err_is($r, 405, 'METHOD', 'method not allowed; use GET, HEAD',
       'PUT /zset/{key}');
is($r->header('Allow'), 'GET, HEAD', 'Allow of /zset/{key}');
$r = $t->http(POST => '/kvmq/zset/lb/bob');
err_is($r, 405, 'METHOD', 'method not allowed; use GET, HEAD, PUT, DELETE',
       'POST /zset/{key}/{member}');
is($r->header('Allow'), 'GET, HEAD, PUT, DELETE',
   'Allow of /zset/{key}/{member}');
err_is($t->http(GET => '/kvmq/zset'), 404, 'NOTFOUND', 'no such route',
       '/zset');
err_is($t->http(GET => '/kvmq/zset/a/b/c'), 404, 'NOTFOUND',
       'no such route', 'too many segments');

# WRONGTYPE
$t->http(PUT => '/kvmq/kv/str', {}, 'text');
for my $c (['GET', '/kvmq/zset/str'], ['GET', '/kvmq/zset/str/m'],
           ['PUT', '/kvmq/zset/str/m', '1'],
           ['PUT', '/kvmq/zset/str/m?incr', '1'],
           ['DELETE', '/kvmq/zset/str/m'])
{
    my ($mth, $p, $body) = @$c;
    err_is($t->http($mth => $p, {}, $body), 409, 'WRONGTYPE',
           'Operation against a key holding the wrong kind of value',
           "$mth $p on a string");
}
err_is($t->http(GET => '/kvmq/kv/lb'), 409, 'WRONGTYPE',
       'Operation against a key holding the wrong kind of value',
       'GET /kv/{key} of a sorted set');
$t->http(PUT => '/kvmq/set/aset/m');
err_is($t->http(GET => '/kvmq/zset/aset'), 409, 'WRONGTYPE',
       'Operation against a key holding the wrong kind of value',
       'GET /zset/{key} of a set');

# a read-only location
reply_is($t->http(GET => '/ro/zset/lb/bob'), 200,
         '{"score":"inf","rank":6}', 'read-only: GET a member');
get_is('/ro/zset/lb?max=0', '["cy"]', 'read-only: GET a range');
err_is($t->http(PUT => '/ro/zset/lb/x', {}, '1'), 403, 'DENIED',
       qr/read-only/, 'read-only: PUT');
err_is($t->http(PUT => '/ro/zset/lb/bob?incr', {}, '1'), 403, 'DENIED',
       qr/read-only/, 'read-only: PUT ?incr');
err_is($t->http(DELETE => '/ro/zset/lb/bob'), 403, 'DENIED', qr/read-only/,
       'read-only: DELETE');
is($t->http(GET => '/kvmq/cmd/ZCARD/lb')->body, '7',
   'read-only wrote nothing');

# limits: kvmq_max_key 16, kvmq_max_value 64
my $k17 = 'k' x 17;
for my $c (['GET', "/small/zset/$k17"], ['GET', "/small/zset/$k17/m"],
           ['PUT', "/small/zset/$k17/m", '1'],
           ['DELETE', "/small/zset/$k17/m"])
{
    my ($mth, $p, $body) = @$c;
    err_is($t->http($mth => $p, {}, $body), 413, 'TOOLARGE',
           'key of 17 bytes is over kvmq_max_key (16)', "$mth a 17-byte key");
}
reply_is($t->http(PUT => '/small/zset/lim/' . ('m' x 64), {}, '1'), 201,
         '{"score":1}', 'a 64-byte member');
err_is($t->http(PUT => '/small/zset/lim/' . ('m' x 65), {}, '1'), 413,
       'TOOLARGE', 'value of 65 bytes is over kvmq_max_value (64)',
       'a 65-byte member');
err_is($t->http(PUT => '/small/zset/lim/m', {}, '1' x 65), 413, 'TOOLARGE',
       'body of 65 bytes is over kvmq_max_value (64)', 'a 65-byte score');
is($t->http(GET => '/kvmq/cmd/ZCARD/lim')->body, '1',
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
$t->http(PUT => '/tiny/zset/z/a', {}, '1');
ok(fill('/tiny', sub { [PUT => "/tiny/zset/fill$_[0]/m", {}, '1'] }) > 20,
   'the 1m zone is full');
err_is($t->http(PUT => '/tiny/zset/new/m', {}, '1'), 507, 'NOMEM',
       qr/full/, 'PUT creating a set on a full zone');
err_is($t->http(PUT => '/tiny/zset/new/m?incr', {}, '1'), 507, 'NOMEM',
       qr/full/, 'PUT ?incr creating a set on a full zone');
err_is($t->http(PUT => '/tiny/zset/z/' . ('x' x 3000), {}, '1'), 507,
       'NOMEM', qr/full/, 'PUT a long member on a full zone');
reply_is($t->http(GET => '/tiny/zset/z?withscores'), 200, '[["a",1]]',
         'the set is as it was');

# two workers, one zone
my @c = $t->worker_conns(2, path => '/kvmq/zset/none');
SKIP: {
    skip 'only one worker reached', 2 unless @c == 2;
    my ($c1, $c2) = @c;
    $c1->request(PUT => '/kvmq/zset/xw/a?incr', {}, '1') for 1 .. 5;
    $c2->request(PUT => '/kvmq/zset/xw/a?incr', {}, '1') for 1 .. 5;
    is($c1->request(GET => '/kvmq/zset/xw/a')->body,
       '{"score":10,"rank":0}', 'both workers add up');
    is($c2->request(GET => '/kvmq/zset/xw?withscores')->body,
       '[["a",10]]', 'and agree');
    $_->close for @c;
}

$t->done;
