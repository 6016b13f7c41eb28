#!/usr/bin/perl

# POST /cmd (one command or an atomic batch) and GET /cmd/NAME/...: the
# JSON mapping of replies and errors, binary safety, base64 encoding, and
# request bodies nginx buffered to a file.

use strict;
use warnings;

use Mojo::IOLoop;
use Mojo::UserAgent;
use MIME::Base64 qw(encode_base64);
use Test::More;

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
        location /kvmq/ { kvmq_api main; }
    }
}
EOF

sub cmd {
    my ($json, $q) = @_;
    return $t->http(POST => '/kvmq/cmd' . ($q // ''), {}, $json);
}

sub reply_is {
    my ($json, $expect, $name) = @_;
    my $r = cmd($json);
    is($r->status, 200, "$name: 200");
    is($r->body, $expect, "$name: $expect");
    is($r->header('Content-Type'), 'application/json', "$name: JSON");
}

sub err_is {
    my ($res, $status, $code, $msg, $name) = @_;
    is($res->status, $status, "$name: status $status");
    my $j = eval { json_decode($res->body) } // {};
    is($j->{error}, $code, "$name: error $code");
    if (ref $msg eq 'Regexp') {
        like($j->{message}, $msg, "$name: message");
    } else {
        is($j->{message}, $msg, "$name: message");
    }
}

my $b64 = sub { encode_base64($_[0], '') };

# one command: the reply type mapping of API.md
reply_is('["PING"]', '"PONG"', 'status');
reply_is('["SET","k","v"]', '"OK"', 'SET');
reply_is('["GET","k"]', '"v"', 'bulk');
reply_is('["GET","nokey"]', 'null', 'nil');
reply_is('["INCR","n"]', '1', 'integer');
reply_is('["MGET","k","nokey","n"]', '["v",null,"1"]', 'array');
reply_is('["INCRBYFLOAT","f","1.5"]', '"1.5"',
         'INCRBYFLOAT stays a string');
reply_is('["SET","slash","a/b"]', '"OK"', 'SET a/b');
reply_is('["GET","slash"]', '"a/b"', 'no needless \/ escape');
reply_is('["ECHO","tab\tquote\" \u00e9"]', '"tab\tquote\" é"',
         'escapes and UTF-8');

# numbers are taken as written
reply_is('["SET","num",1.50e3]', '"OK"', 'a JSON number argument');
reply_is('["GET","num"]', '"1.50e3"', 'kept as written');
reply_is('["INCRBY","n",41]', '42', 'an integer argument');
reply_is('["EXPIRE","num",100]', '1', 'a number for a TTL');

# binary safety
reply_is('["SET","nul\u0000key","a\u0000b"]', '"OK"', 'NUL in JSON strings');
reply_is('["GET","nul\u0000key"]', '"a\u0000b"', 'NUL comes back');
reply_is('["STRLEN","nul\u0000key"]', '3', 'NUL counted');
my $r = cmd(json_encode([map { $b64->($_) } 'SET', "bin\xff", "\xff\xfe\x00"]),
            '?encoding=base64');
is($r->body, '"' . $b64->('OK') . '"', 'encoding=base64: request and reply');
reply_is('["GET","bin\u00ff"]', 'null',
         '\u00ff is U+00FF in UTF-8, not byte 0xff');
$r = cmd(json_encode([map { $b64->($_) } 'GET', "bin\xff"]),
         '?encoding=base64');
is($r->body, '"' . $b64->("\xff\xfe\x00") . '"', 'binary reply in base64');
$r = cmd(json_encode([map { $b64->($_) } 'GETRANGE', "nul\x00key"]
                     ) =~ s/]$/,0,0]/r, '?encoding=base64');
is($r->body, '"' . $b64->('a') . '"',
   'plain reply in base64 too; numbers stay numbers');
$t->http(PUT => '/kvmq/kv/raw', {}, "ok\xff\xfe");
reply_is('["GET","raw"]', '{"base64":"' . $b64->("ok\xff\xfe") . '"}',
         'a reply that is not UTF-8 is {"base64": ...}');
reply_is('["GETS","raw"]',
         '[{"base64":"' . $b64->("ok\xff\xfe") . '"},'
         . ($t->http(GET => '/kvmq/kv/raw')->header('ETag') =~ s/"//gr) . ']',
         'GETS: [value, cas]');
err_is(cmd('["R0VU","!!"]', '?encoding=base64'), 400, 'BADREQ',
       'invalid base64 string', 'bad base64');

# errors of one command: the HTTP status and the error object
err_is(cmd('["NOSUCH","x"]'), 400, 'BADREQ', "unknown command 'NOSUCH'",
       'unknown command');
err_is(cmd('["GET"]'), 400, 'BADREQ',
       "wrong number of arguments for 'get' command", 'wrong arity');
err_is(cmd('["INCR","k"]'), 400, 'BADREQ',
       'value is not an integer or out of range', 'INCR of a string');
err_is(cmd('[]'), 400, 'BADREQ', 'empty command', 'empty array');
err_is(cmd('[null]'), 400, 'BADREQ',
       'command arguments must be strings or numbers, not null', 'null');
err_is(cmd('["SET","k",true]'), 400, 'BADREQ',
       'command arguments must be strings or numbers, not booleans',
       'boolean');
err_is(cmd('["SET","k",{"a":1}]'), 400, 'BADREQ',
       'command arguments must be strings or numbers, not objects',
       'object');
err_is(cmd('["SET","k",["v"]]'), 400, 'BADREQ',
       'command arguments must be strings or numbers, not arrays',
       'nested array in one command');
err_is(cmd('"PING"'), 400, 'BADREQ', 'a command is a JSON array',
       'a string');
err_is(cmd('{"cmd":"PING"}'), 400, 'BADREQ',
       'command arguments must be strings or numbers, not objects',
       'an object');
err_is(cmd('["PING"'), 400, 'BADREQ', qr/^malformed JSON: /, 'truncated');
err_is(cmd('["PING"] x'), 400, 'BADREQ', qr/^malformed JSON: /,
       'trailing garbage');
err_is(cmd(''), 400, 'BADREQ', 'empty request body', 'no body');
err_is(cmd("[\"ECHO\",\"\xff\"]"), 400, 'BADREQ', qr/^malformed JSON: /,
       'invalid UTF-8 in JSON');
err_is(cmd('["GET","k"]', '?encoding=hex'), 400, 'BADREQ',
       'unknown encoding "hex"', 'unknown encoding');

# batches: atomic, one reply slot each
reply_is('[["SET","b1","1"],["INCR","b1"],["INCR","k"],["GET","b1"]]',
         '["OK",2,{"error":"BADREQ","message":'
         . '"value is not an integer or out of range"},"2"]',
         'a batch with a failing command');
reply_is('[["PING"]]', '["PONG"]', 'a batch of one');
err_is(cmd('[["SET","b2","x"],["NOSUCH"]]'), 400, 'BADREQ',
       "command 2: unknown command 'NOSUCH'",
       'a batch with an unknown command');
err_is(cmd('[["SET","b2","x"],["GET"]]'), 400, 'BADREQ',
       "command 2: wrong number of arguments for 'GET'",
       'a batch with a wrong arity');
err_is(cmd('[["SET","b2","x"],[]]'), 400, 'BADREQ',
       'command 2: empty command', 'a batch with an empty command');
err_is(cmd('[["SET","b2","x"],"GET"]'), 400, 'BADREQ',
       'a batch holds only arrays (commands)', 'a batch with a string');
err_is(cmd('[["SET","b2","x"],[["GET"]]]'), 400, 'BADREQ',
       'command arguments must be strings or numbers, not arrays',
       'a batch nested too deep');
reply_is('["EXISTS","b2"]', '0', 'a refused batch ran nothing');

# atomicity: concurrent batches of INCRs never interleave
{
    my $n = 20;
    my @batch = map { ['INCR', 'atomic'] } 1 .. $n;
    my $json = json_encode(\@batch);
    my @uas = map { Mojo::UserAgent->new } 1 .. 8;
    my (@bodies, $pending);
    for my $ua (@uas) {
        for (1 .. 5) {
            $pending++;
            $ua->post($t->url('/kvmq/cmd') => {} => $json
                      => sub {
                my (undef, $tx) = @_;
                push @bodies, $tx->res->json;
                Mojo::IOLoop->stop unless --$pending;
            });
        }
    }
    Mojo::IOLoop->start;
    my $contiguous = grep {
        my $b = $_;
        ref $b eq 'ARRAY' && @$b == $n
            && !grep { $b->[$_] != $b->[0] + $_ } 0 .. $n - 1
    } @bodies;
    is($contiguous, 40, 'each batch saw its INCRs consecutive');
    reply_is('["GET","atomic"]', '"800"', 'and all of them ran');
}

# GET /cmd/NAME/args...
$r = $t->http(GET => '/kvmq/cmd/SET/a%2Fb%20c/v%2F1');
is($r->body, '"OK"', 'GET /cmd/SET with encoded segments');
is($t->http(GET => '/kvmq/cmd/GET/a%2Fb%20c')->body, '"v/1"',
   'GET /cmd/GET');
is($t->http(GET => '/kvmq/kv/a%2Fb%20c')->body, 'v/1', 'same key over /kv');
is($t->http(GET => '/kvmq/cmd/ping')->body, '"PONG"', 'names in any case');
err_is($t->http(GET => '/kvmq/cmd/NOSUCH'), 400, 'BADREQ',
       "unknown command 'NOSUCH'", 'GET /cmd unknown');
err_is($t->http(GET => '/kvmq/cmd/GET/nokey/extra'), 400, 'BADREQ',
       "wrong number of arguments for 'get' command", 'GET /cmd arity');

# methods
$r = $t->http(GET => '/kvmq/cmd');
err_is($r, 405, 'METHOD', 'method not allowed; use POST', 'GET /cmd');
is($r->header('Allow'), 'POST', 'Allow: POST');
$r = $t->http(POST => '/kvmq/cmd/PING');
err_is($r, 405, 'METHOD', 'method not allowed; use GET, HEAD',
       'POST /cmd/PING');
is($r->header('Allow'), 'GET, HEAD', 'Allow: GET, HEAD');

# a body nginx wrote to a temp file (client_body_buffer_size 1k)
my $big = 'x' x 300_000;
reply_is(json_encode(['SET', 'big', $big]), '"OK"', 'a 300k JSON body');
is($t->http(GET => '/kvmq/kv/big')->body, $big, 'stored whole');
reply_is(json_encode([map { ['APPEND', 'big2', 'y' x 1000] } 1 .. 100]),
         '[' . join(',', map { $_ * 1000 } 1 .. 100) . ']',
         'a 100-command batch from a temp file');

$t->done;
