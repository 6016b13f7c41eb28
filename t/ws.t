#!/usr/bin/perl

# GET /ws: the handshake, and every /cmd command over WebSocket with
# {"id","cmd"} -> {"id","result"|"error"}: reply shapes, errors, ids of
# every JSON type kept as written, batches, kvmq_readonly, the key and
# value limits, ?encoding=base64, order of replies, data shared with the
# HTTP doors across workers, and a real client library (Mojo).

use strict;
use warnings;

use MIME::Base64 qw(encode_base64);
use Mojo::IOLoop;
use Mojo::UserAgent;
use Test::More;

use lib 't/lib';
use Kvmq::Test qw(json_decode json_encode);
use Kvmq::WS qw(TEXT BINARY);

my $t = Kvmq::Test->new->skip_unless_module;
$t->conf(<<'EOF')->run;
load_module %%MODULE%%;
worker_processes 2;

http {
    kvmq_zone main size=8m;
    server {
        listen 127.0.0.1:%%PORT%%;
        location /kvmq/ { kvmq_api main; add_header X-Pid $pid always; }
        location /ro/ { kvmq_api main; kvmq_readonly on; }
        location /small/ {
            kvmq_api main;
            kvmq_max_key 16;
            kvmq_max_value 64;
            kvmq_ws_send_buffer 2k;
        }
    }
}
EOF

my $b64 = sub { encode_base64($_[0], '') };

sub ws { return Kvmq::WS->new($t, @_); }

# the exact text of the reply to one message
sub raw_reply {
    my ($ws, $text) = @_;
    $ws->request($text);
    return $ws->last_raw;
}

sub have {
    my ($name, @args) = @_;
    my $r = $t->cmd($name, @args)->json // {};
    return !(ref $r eq 'HASH' && ($r->{message} // '') =~ /unknown command/);
}


# ---- the handshake ---------------------------------------------------------

my $ws = ws();
is($ws->status, 101, 'handshake: 101');
like($ws->status_line, qr{^HTTP/1\.1 101 Switching Protocols$},
     'handshake: status line');
is(lc $ws->header('Upgrade'), 'websocket', 'handshake: Upgrade');
is(lc $ws->header('Connection'), 'upgrade', 'handshake: Connection');
ok($ws->accept_ok, 'handshake: Sec-WebSocket-Accept');
ok(!defined $ws->header('Content-Length'), 'handshake: no Content-Length');
ok(!defined $ws->header('Sec-WebSocket-Extensions'),
   'handshake: no extension accepted');

# RFC 6455's own example key
$ws = ws(key => 'dGhlIHNhbXBsZSBub25jZQ==');
is($ws->header('Sec-WebSocket-Accept'), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=',
   'handshake: the RFC 6455 example key');

# clients write the tokens in many ways
$ws = ws(headers => [Connection => 'keep-alive, Upgrade',
                     Upgrade => 'WebSocket']);
is($ws->status, 101, 'handshake: "keep-alive, Upgrade" and "WebSocket"');
is_deeply($ws->cmd(1, ['PING']), {id => 1, result => 'PONG'},
          'handshake: and the connection works');

$ws = ws(path => '/kvmq/ws/');
is($ws->status, 101, 'handshake: a trailing slash');

$ws = ws(headers => ['Sec-WebSocket-Protocol' => 'chat',
                     'Sec-WebSocket-Extensions' => 'permessage-deflate']);
is($ws->status, 101, 'handshake: offered protocol and extension');
ok(!defined $ws->header('Sec-WebSocket-Protocol'),
   'handshake: no subprotocol chosen');
ok(!defined $ws->header('Sec-WebSocket-Extensions'),
   'handshake: no extension chosen');

is(ws(path => '/kvmq/ws?encoding=utf16')->status, 400,
   'handshake: unknown encoding');


# ---- reply shapes ----------------------------------------------------------

$ws = ws();

is(raw_reply($ws, '{"id":1,"cmd":["PING"]}'), '{"id":1,"result":"PONG"}',
   'status reply, exact text');
is(raw_reply($ws, '{"id":2,"cmd":["SET","k","v"]}'),
   '{"id":2,"result":"OK"}', 'SET');
is(raw_reply($ws, '{"id":3,"cmd":["GET","k"]}'), '{"id":3,"result":"v"}',
   'bulk');
is(raw_reply($ws, '{"id":4,"cmd":["GET","nokey"]}'),
   '{"id":4,"result":null}', 'nil');
is(raw_reply($ws, '{"id":5,"cmd":["INCR","n"]}'), '{"id":5,"result":1}',
   'integer');
is(raw_reply($ws, '{"id":6,"cmd":["MGET","k","nokey","n"]}'),
   '{"id":6,"result":["v",null,"1"]}', 'array');
is(raw_reply($ws, '{"id":7,"cmd":["INCRBYFLOAT","f","1.5"]}'),
   '{"id":7,"result":"1.5"}', 'INCRBYFLOAT stays a string');
is(raw_reply($ws, '{"id":8,"cmd":["ECHO","tab\tquote\" \u00e9 €"]}'),
   qq({"id":8,"result":"tab\\tquote\\" \xc3\xa9 \xe2\x82\xac"}),
   'escapes and UTF-8');
is_deeply($ws->cmd(9, ['SCAN', 0, 'MATCH', 'k', 'COUNT', 100]),
          {id => 9, result => ['0', ['k']]}, 'nested array');
is(raw_reply($ws, '{"id":10,"cmd":["SET","num",1.50e3]}'),
   '{"id":10,"result":"OK"}', 'a JSON number argument');
is($ws->cmd(11, ['GET', 'num'])->{result}, '1.50e3', 'kept as written');
is(raw_reply($ws, '{"id":12,"cmd":["SET","nul\u0000key","a\u0000b"]}'),
   '{"id":12,"result":"OK"}', 'NUL in strings');
is(raw_reply($ws, '{"id":13,"cmd":["GET","nul\u0000key"]}'),
   '{"id":13,"result":"a\u0000b"}', 'NUL comes back');

$t->put('/kvmq/kv/bin', "ok\xff\xfe");
is(raw_reply($ws, '{"id":14,"cmd":["GET","bin"]}'),
   '{"id":14,"result":{"base64":"' . $b64->("ok\xff\xfe") . '"}}',
   'a reply that is not UTF-8 is {"base64": ...}');
is_deeply($ws->cmd(15, ['GETS', 'k']),
          {id => 15, result => ['v', $t->get('/kvmq/kv/k')->header('ETag')
                                     =~ s/"//gr]},
          'GETS: [value, cas]');

SKIP: {
    skip 'no hash type in this engine', 1 unless have('HLEN', 'nokey');
    $ws->cmd(0, ['HSET', 'h', 'a', '1', 'b', '2']);
    is_deeply($ws->cmd(16, ['HGETALL', 'h']),
              {id => 16, result => {a => '1', b => '2'}}, 'map');
}

SKIP: {
    skip 'no sorted set type in this engine', 2 unless have('ZCARD', 'no');
    $ws->cmd(0, ['ZADD', 'z', '1.5', 'm']);
    is(raw_reply($ws, '{"id":17,"cmd":["ZSCORE","z","m"]}'),
       '{"id":17,"result":1.5}', 'double');
    is(raw_reply($ws, '{"id":18,"cmd":["ZINCRBY","z","inf","m"]}'),
       '{"id":18,"result":"inf"}', 'infinite double');
}

SKIP: {
    skip 'no list type in this engine', 1 unless have('LLEN', 'nokey');
    is_deeply($ws->cmd(19, ['LPUSH', 'k', 'x']),
              {id => 19, error => {error => 'WRONGTYPE',
               message => 'Operation against a key holding the wrong '
                        . 'kind of value'}},
              'WRONGTYPE');
}


# ---- errors ----------------------------------------------------------------

is_deeply($ws->cmd(20, ['NOSUCH', 'x']),
          {id => 20, error => {error => 'BADREQ',
                               message => "unknown command 'NOSUCH'"}},
          'unknown command');
is_deeply($ws->cmd(21, ['GET']),
          {id => 21, error => {error => 'BADREQ',
           message => "wrong number of arguments for 'get' command"}},
          'wrong arity');
is_deeply($ws->cmd(22, ['INCR', 'k']),
          {id => 22, error => {error => 'BADREQ',
           message => 'value is not an integer or out of range'}},
          'an engine error');

my $r = $ws->request('{"id":23,');
is($r->{id}, undef, 'malformed JSON: id null');
is($r->{error}{error}, 'BADREQ', 'malformed JSON: BADREQ');
like($r->{error}{message}, qr/^malformed JSON/, 'malformed JSON: message');
like($ws->last_raw, qr/^\{"id":null,"error":\{/, 'malformed JSON: text');

$r = $ws->request('not json at all');
is($r->{id}, undef, 'not JSON: id null');
is($r->{error}{error}, 'BADREQ', 'not JSON: BADREQ');

$r = $ws->request('["PING"]');
is_deeply($r, {id => undef, error => {error => 'BADREQ',
          message => 'a message is a JSON object: {"id": ..., "cmd": '
                   . '["NAME", ...]}'}}, 'an array is not a message');
$r = $ws->request('"PING"');
is($r->{error}{error}, 'BADREQ', 'a string is not a message');
$r = $ws->request('{"id":1,"cmd":["PING"]} {}');
is($r->{id}, undef, 'trailing garbage: id null');

is_deeply($ws->request('{"id":"a"}'),
          {id => 'a', error => {error => 'BADREQ',
           message => 'a message needs "cmd": {"id": ..., "cmd": '
                    . '["NAME", ...]}'}},
          'no cmd: an error with the id');
is_deeply($ws->request('{"id":"b","cmd":"PING"}'),
          {id => 'b', error => {error => 'BADREQ',
                                message => 'a command is a JSON array'}},
          'cmd not an array');
is_deeply($ws->request('{"id":"c","cmd":[]}'),
          {id => 'c', error => {error => 'BADREQ',
                                message => 'empty command'}},
          'empty command');
is_deeply($ws->request('{"id":"d","cmd":["SET","k",null]}'),
          {id => 'd', error => {error => 'BADREQ', message =>
           'command arguments must be strings or numbers, not null'}},
          'null argument');
is_deeply($ws->request('{"id":"e","cmd":["SET","k",{"a":1}]}')->{error}
          {error}, 'BADREQ', 'object argument');
is_deeply($ws->request(''),
          {id => undef, error => {error => 'BADREQ',
                                  message => 'empty message'}},
          'empty message');
is_deeply($ws->cmd(24, ['PING']), {id => 24, result => 'PONG'},
          'the connection is still open after all that');


# ---- ids -------------------------------------------------------------------

my @ids = (
    ['7', 'integer'],
    ['-12', 'negative'],
    ['1.50e3', 'number as written'],
    ['0.1', 'fraction'],
    ['"s"', 'string'],
    ['"\u00e9\n\"x\""', 'string with escapes, as written'],
    ["\"\xc3\xa9\"", 'UTF-8 string'],
    ['""', 'empty string'],
    ['true', 'true'],
    ['false', 'false'],
    ['null', 'null'],
    ['{}', 'empty object'],
    ['{"a":[1,{"b":null}],"c":"d"}', 'object'],
    ['[1,"2",[3]]', 'array'],
    ["{ \"a\" :\n [ 1 , 2 ] }", 'white space inside kept'],
);

for my $i (@ids) {
    my ($id, $name) = @$i;
    is(raw_reply($ws, "{\"id\":$id,\"cmd\":[\"PING\"]}"),
       "{\"id\":$id,\"result\":\"PONG\"}", "id: $name");
}

is(raw_reply($ws, '{"cmd":["PING"]}'), '{"id":null,"result":"PONG"}',
   'id: absent is null');
is(raw_reply($ws, "{ \"cmd\" : [\"PING\"] ,\n \"id\" :\t 42 }"),
   '{"id":42,"result":"PONG"}', 'id: after cmd, white space around');
is(raw_reply($ws, '{"x":{"id":1},"id":2,"cmd":["PING"],"y":[1]}'),
   '{"id":2,"result":"PONG"}', 'id: nested "id" keys and other keys');
is(raw_reply($ws, '{"id":1,"id":2,"cmd":["PING"]}'),
   '{"id":2,"result":"PONG"}', 'id: the last one wins');


# ---- batches ---------------------------------------------------------------

is(raw_reply($ws, '{"id":"b1","cmd":[["SET","a","1"],["INCR","a"],'
                . '["GET","a"],["INCR","k"]]}'),
   '{"id":"b1","result":["OK",2,"2",{"error":"BADREQ","message":'
   . '"value is not an integer or out of range"}]}',
   'batch: replies in order, an error in its slot');

is_deeply($ws->request('{"id":"b2","cmd":[["SET","c","1"],["NOPE"]]}'),
          {id => 'b2', error => {error => 'BADREQ',
           message => "command 2: unknown command 'NOPE'"}},
          'batch: an unknown command refuses the batch');
is($ws->cmd(0, ['EXISTS', 'c'])->{result}, 0, 'batch: nothing ran');
is_deeply($ws->request('{"id":"b3","cmd":[["SET","c","1"],[]]}')->{error},
          {error => 'BADREQ', message => 'command 2: empty command'},
          'batch: an empty command');
is_deeply($ws->request('{"id":"b4","cmd":[["SET","c"]]}')->{error},
          {error => 'BADREQ',
           message => "command 1: wrong number of arguments for 'SET'"},
          'batch: wrong arity');
is_deeply($ws->request('{"id":"b5","cmd":[["PING"],"x"]}')->{error},
          {error => 'BADREQ',
           message => 'a batch holds only arrays (commands)'},
          'batch: not arrays');

# atomic: another connection never sees half a batch
{
    my $w2 = ws();
    $ws->cmd(0, ['SET', 'x', 0]);
    $ws->cmd(0, ['SET', 'y', 0]);
    my $bad = 0;
    for my $i (1 .. 50) {
        $ws->send_text(json_encode({id => $i, cmd => [['INCR', 'x'],
                                                      ['INCR', 'y']]}));
        my $m = $w2->cmd($i, ['MGET', 'x', 'y'])->{result};
        $bad++ if $m->[0] ne $m->[1];
        $ws->recv_message;
        my $m2 = $w2->cmd($i, ['MGET', 'x', 'y'])->{result};
        $bad++ if $m2->[0] ne $m2->[1];
    }
    is($bad, 0, 'batch: atomic as seen from another connection');
}


# ---- readonly and limits ---------------------------------------------------

my $ro = ws(path => '/ro/ws');
is($ro->status, 101, 'readonly: handshake');
is($ro->cmd(1, ['GET', 'k'])->{result}, 'v', 'readonly: GET');
is($ro->cmd(2, ['SET', 'k', 'w'])->{error}{error}, 'DENIED',
   'readonly: SET denied');
is($ro->cmd(3, ['GET', 'k'])->{result}, 'v', 'readonly: nothing written');
is($ro->request('{"id":4,"cmd":[["GET","k"],["DEL","k"]]}')->{result}[1]
   {error}, 'DENIED', 'readonly: in a batch');

my $sm = ws(path => '/small/ws');
is_deeply($sm->cmd(1, ['SET', 'k' x 17, 'v']),
          {id => 1, error => {error => 'TOOLARGE', message =>
           'command 1: key of 17 bytes is over kvmq_max_key (16)'}},
          'limits: key');
is_deeply($sm->cmd(2, ['SET', 'k', 'v' x 65]),
          {id => 2, error => {error => 'TOOLARGE', message =>
           'command 1: argument 2 of 65 bytes is over kvmq_max_value (64)'}},
          'limits: value');
is($sm->request('{"id":3,"cmd":[["SET","ok","1"],["SET","'
                . ('k' x 17) . '","v"]]}')->{error}{message},
   'command 2: key of 17 bytes is over kvmq_max_key (16)',
   'limits: in a batch, counted from 1');
is($sm->cmd(4, ['EXISTS', 'ok'])->{result}, 0, 'limits: nothing ran');

$t->put('/kvmq/kv/big', 'x' x 3000);
is_deeply($sm->cmd(5, ['GET', 'big']),
          {id => 5, error => {error => 'TOOLARGE', message =>
           'reply of 3020 bytes is over kvmq_ws_send_buffer (2048)'}},
          'a reply over kvmq_ws_send_buffer is an error');
is($sm->cmd(6, ['STRLEN', 'big'])->{result}, 3000,
   'and the connection goes on');


# ---- ?encoding=base64 ------------------------------------------------------

my $bs = ws(path => '/kvmq/ws?encoding=base64');
is($bs->status, 101, 'base64: handshake');
is_deeply($bs->cmd(1, [map { $b64->($_) } 'SET', "bin\xff", "\xff\xfe\x00"]),
          {id => 1, result => $b64->('OK')}, 'base64: request and reply');
is_deeply($bs->cmd(2, [map { $b64->($_) } 'GET', "bin\xff"]),
          {id => 2, result => $b64->("\xff\xfe\x00")}, 'base64: binary value');
is($bs->request('{"id":3,"cmd":["' . $b64->('STRLEN') . '","'
                . $b64->("bin\xff") . '"]}')->{result}, 3,
   'base64: numbers stay numbers');
is_deeply($bs->request('{"id":{"x":"aGk="},"cmd":["' . $b64->('PING')
                       . '"]}'),
          {id => {x => 'aGk='}, result => $b64->('PONG')},
          'base64: the id is not decoded');
is_deeply($bs->request('{"id":4,"cmd":["R0VU","!!"]}'),
          {id => 4, error => {error => 'BADREQ',
                              message => 'invalid base64 string'}},
          'base64: bad base64');
is($bs->cmd(5, [$b64->('NOSUCH')])->{error}{message},
   "unknown command 'NOSUCH'", 'base64: error messages stay text');


# ---- order, binary frames, sharing with HTTP -------------------------------

{
    my $n = 300;
    my $all = join '', map {
        $ws->frame(TEXT, json_encode({id => $_, cmd => ['INCR', 'ord']}))
    } 1 .. $n;
    $ws->send_raw($all);
    my ($ok, $last) = (1, 0);
    for my $i (1 .. $n) {
        my $m = json_decode($ws->recv_message // '{}');
        $ok = 0 unless ($m->{id} // 0) == $i && ($m->{result} // 0) == $i;
    }
    ok($ok, "pipelined: $n replies in order");
}

$ws->send_frame(BINARY, '{"id":"bin","cmd":["ECHO","x"]}');
my $f = $ws->recv_frame;
is($f->{opcode}, TEXT, 'binary message: the reply is a text frame');
is($f->{payload}, '{"id":"bin","result":"x"}', 'binary message: handled');
$ws->send_frame(BINARY, "{\"id\":1,\"cmd\":[\"ECHO\",\"\xff\"]}");
like($ws->recv_message, qr/"malformed JSON/,
     'binary message: JSON strings must still be UTF-8');

# the same data through both doors, on different workers (the 101 has
# add_header's X-Pid)
{
    my (@socks, %pids);
    for (1 .. 200) {
        my $w = ws();
        push @socks, $w;
        $pids{$w->header('X-Pid') // ''}++;
        last if keys %pids == 2 && @socks >= 20;
    }
    is(scalar(keys %pids), 2, 'shared: connections on both workers');
    my $w = $socks[0];
    is($w->cmd(1, ['SET', 'shared', 'from-ws'])->{result}, 'OK',
       'shared: SET over WebSocket');
    is($t->get('/kvmq/kv/shared')->body, 'from-ws',
       'shared: GET over HTTP');
    $t->put('/kvmq/kv/shared', 'from-http');
    my $same = grep { ($_->cmd(2, ['GET', 'shared'])->{result} // '')
                      eq 'from-http' } @socks;
    is($same, scalar @socks, 'shared: every WebSocket sees the PUT');
}


# ---- a real client library -------------------------------------------------

{
    my $ua = Mojo::UserAgent->new;
    my (@got, $err, $code);
    $ua->websocket($t->url('/kvmq/ws', 'ws') => sub {
        my ($ua, $tx) = @_;
        unless ($tx->is_websocket) {
            $err = 'not a WebSocket: ' . ($tx->res->code // 'none');
            Mojo::IOLoop->stop;
            return;
        }
        $tx->on(json => sub {
            my ($tx, $m) = @_;
            push @got, $m;
            if (@got == 1) {
                $tx->send({json => {id => 'm2', cmd => [['SET', 'mojo',
                          "\x{263a}"], ['GET', 'mojo']]}});
            } else {
                $tx->finish(1000);
            }
        });
        $tx->on(finish => sub {
            (undef, $code) = @_;
            Mojo::IOLoop->stop;
        });
        $tx->send({json => {id => 'm1', cmd => ['PING']}});
    });
    my $tid = Mojo::IOLoop->timer(10 * $Kvmq::Test::SLOW
                                  => sub { $err = 'timeout';
                                           Mojo::IOLoop->stop });
    Mojo::IOLoop->start;
    Mojo::IOLoop->remove($tid);
    is($err, undef, 'Mojo: connected');
    is_deeply(\@got, [{id => 'm1', result => 'PONG'},
                      {id => 'm2', result => ['OK', "\x{263a}"]}],
              'Mojo: replies');
    is($code, 1000, 'Mojo: clean close');
}


# ---- many connections at once ----------------------------------------------

{
    my @w = map { ws() } 1 .. 100;
    is(scalar(grep { $_->status == 101 } @w), 100, '100 connections');
    $_->send_text(json_encode({id => 1, cmd => ['INCR', 'many']})) for @w;
    my $ok = grep { my $m = $_->recv_message; $m && $m =~ /"result":\d+/ } @w;
    is($ok, 100, '100 replies');
    is($t->get('/kvmq/kv/many')->body, 100, 'every INCR counted');
    $_->close for @w[0 .. 49];
}

# ---- directives ------------------------------------------------------------

for my $c (['kvmq_ws_max_message 0;', qr/"kvmq_ws_max_message" must be/],
           ['kvmq_ws_max_message 1q;', qr/invalid value/],
           ['kvmq_ws_send_buffer 100;', qr/"kvmq_ws_send_buffer" must be at/],
           ['kvmq_ws_ping soon;', qr/invalid value/])
{
    my ($rc, $out) = $t->test_config(<<"EOF");
load_module %%MODULE%%;
http {
    kvmq_zone main size=1m;
    server {
        listen 127.0.0.1:%%PORT%%;
        location /kvmq/ { kvmq_api main; $c->[0] }
    }
}
EOF
    isnt($rc, 0, "nginx -t refuses $c->[0]");
    like($out, $c->[1], "nginx -t says why: $c->[0]");
}

my ($rc) = $t->test_config(<<'EOF');
load_module %%MODULE%%;
http {
    kvmq_zone main size=1m;
    kvmq_ws_max_message 64k;
    server {
        kvmq_ws_send_buffer 1k;
        listen 127.0.0.1:%%PORT%%;
        location /kvmq/ { kvmq_api main; kvmq_ws_ping 0; }
    }
}
EOF
is($rc, 0, 'nginx -t: the directives in http, server and location');

is($ws->close(1000, 'bye'), 1000, 'close: the code is echoed');
ok($ws->eof, 'close: the server closed the connection');

$t->done;
