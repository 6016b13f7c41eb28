#!/usr/bin/perl

# RFC 6455 conformance of GET /ws, in the spirit of the Autobahn suite:
# each case sends raw frames (kvmq's own client, t/lib/Kvmq/WS.pm) and
# asserts the server's exact answer, byte for byte: the reply frame, the
# pong, or the close frame with its code and reason, then the end of the
# TCP connection.  Frame sizes across the 7/16/64-bit length encodings,
# fragmentation and interleaved control frames, UTF-8 (incremental, fail
# fast), masking, reserved bits and opcodes, control frame rules, close
# codes, message and send buffer limits, the handshake's errors, server
# pings, and the close with 1012 when a reload retires the workers.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);

use lib 't/lib';
use Kvmq::Test qw(json_decode json_encode);
use Kvmq::WS qw(CONT TEXT BINARY CLOSE PING PONG);

my $t = Kvmq::Test->new->skip_unless_module;
my $conf = <<'EOF';
load_module %%MODULE%%;
worker_processes 2;

http {
    kvmq_zone main size=8m;
    kvmq_ws_max_message 70000;

    server {
        listen 127.0.0.1:%%PORT%%;
        lingering_timeout 1s;
        location /kvmq/ { kvmq_api main; add_header X-Pid $pid always; }
        location /ping/ { kvmq_api main; kvmq_ws_ping 300ms; }
    }

    # small kernel buffers, so that frames stay in kvmq's queue
    server {
        listen 127.0.0.1:%%PORT_1%% sndbuf=4k;
        location /kvmq/ { kvmq_api main; add_header X-Pid $pid always; }
        location /slow/ { kvmq_api main; kvmq_ws_send_buffer 64k; }
    }
}
EOF
$t->conf($conf)->run;

my $S = $Kvmq::Test::SLOW;

sub ws { return Kvmq::WS->new($t, @_); }

sub hex_of { return unpack('H*', $_[0] // ''); }

sub close_bytes {
    my ($code, $reason) = @_;
    my $p = defined $code ? pack('n', $code) . ($reason // '') : '';
    return chr(0x88) . chr(length $p) . $p;
}

sub text_bytes {
    my ($payload) = @_;
    my $len = length $payload;
    my $h = $len < 126 ? chr($len)
          : $len < 65536 ? chr(126) . pack('n', $len)
          : chr(127) . pack('Q>', $len);
    return chr(0x81) . $h . $payload;
}

# the next frame is exactly this close frame, then the server hangs up
sub fails_with {
    my ($ws, $code, $reason, $name) = @_;
    my $f = $ws->recv_frame;
    is(hex_of($f && $f->{bytes}), hex_of(close_bytes($code, $reason)),
       "$name: close $code \"$reason\"");
    ok($ws->wait_eof(3 * $S), "$name: connection closed");
}

# a message of exactly n bytes: {"id":1,"cmd":["ECHO","xxx"]}; its reply
# {"id":1,"result":"xxx"} is n - 6 bytes
sub echo_of {
    my ($n, $c) = @_;
    return '{"id":1,"cmd":["ECHO","' . (($c // 'x') x ($n - 26)) . '"]}';
}

sub reply_of {
    my ($n, $c) = @_;
    return '{"id":1,"result":"' . (($c // 'x') x ($n - 26)) . '"}';
}

my $case = 0;
sub case { $case++; return "case $case: $_[0]"; }


# ---- frame sizes ----------------------------------------------------------

{
    my $ws = ws();
    my $name = case('empty text message (0 bytes)');
    $ws->send_frame(TEXT, '');
    my $f = $ws->recv_frame;
    is(hex_of($f->{bytes}), hex_of(text_bytes(
       '{"id":null,"error":{"error":"BADREQ","message":"empty message"}}')),
       "$name: error reply, exact bytes");

    for my $n (125, 126, 65535, 65536) {
        $name = case("client frame of $n bytes ("
                     . ($n < 126 ? 7 : $n < 65536 ? 16 : 64)
                     . '-bit length)');
        $ws->send_frame(TEXT, echo_of($n));
        $f = $ws->recv_frame;
        is(hex_of($f->{bytes}), hex_of(text_bytes(reply_of($n))),
           "$name: reply");
    }

    for my $n (125, 126, 65535, 65536) {
        $name = case("server frame of $n bytes");
        $ws->send_frame(TEXT, echo_of($n + 6));
        $f = $ws->recv_frame;
        my $hdr = $n == 125 ? '817d' : $n == 126 ? '817e007e'
                : $n == 65535 ? '817effff' : '817f0000000000010000';
        is(hex_of(substr($f->{bytes}, 0, length($hdr) / 2)), $hdr,
           "$name: header");
        is(length $f->{payload}, $n, "$name: payload length");
        is($f->{payload}, reply_of($n + 6), "$name: payload");
    }

    $name = case('non-minimal length encodings are accepted');
    $ws->send_frame(TEXT, echo_of(40), len => 16);
    is($ws->recv_frame->{payload}, reply_of(40), "$name: 16-bit for 40");
    $ws->send_frame(TEXT, echo_of(41), len => 64);
    is($ws->recv_frame->{payload}, reply_of(41), "$name: 64-bit for 41");

    $name = case('a message of exactly kvmq_ws_max_message');
    $ws->send_frame(TEXT, echo_of(70000));
    is($ws->recv_frame->{payload}, reply_of(70000), "$name: accepted");

    is($ws->close(1000), 1000, 'sizes: clean close');
}


# ---- fragmentation ----------------------------------------------------------

{
    my $ws = ws();
    my $msg = "{\"id\":2,\"cmd\":[\"ECHO\",\"a\xf0\x9d\x84\x9ez\xe2\x82\xac\"]}";
    my $reply = "{\"id\":2,\"result\":\"a\xf0\x9d\x84\x9ez\xe2\x82\xac\"}";
    my $i = index($msg, "\xf0") + 2;

    my $name = case('fragmented text split inside a UTF-8 sequence');
    $ws->send_frame(TEXT, substr($msg, 0, $i), fin => 0);
    $ws->send_frame(CONT, substr($msg, $i, 3), fin => 0);
    $ws->send_frame(CONT, substr($msg, $i + 3));
    is(hex_of($ws->recv_frame->{bytes}), hex_of(text_bytes($reply)),
       "$name: reply");

    $name = case('one byte per fragment');
    my @b = split //, $msg;
    $ws->send_frame(TEXT, shift @b, fin => 0);
    $ws->send_frame(CONT, shift @b, fin => @b ? 0 : 1) while @b;
    is($ws->recv_frame->{payload}, $reply, "$name: reply");

    $name = case('empty fragments');
    $ws->send_frame(TEXT, '', fin => 0);
    $ws->send_frame(CONT, $msg, fin => 0);
    $ws->send_frame(CONT, '', fin => 0);
    $ws->send_frame(CONT, '');
    is($ws->recv_frame->{payload}, $reply, "$name: reply");

    $name = case('ping during a fragmented message');
    $ws->send_frame(TEXT, substr($msg, 0, 10), fin => 0);
    $ws->ping('in-between');
    my $f = $ws->recv_frame;
    is(hex_of($f->{bytes}), hex_of("\x8a\x0ain-between"),
       "$name: pong with the same payload, at once");
    $ws->pong('unsolicited');
    $ws->send_frame(CONT, substr($msg, 10));
    is($ws->recv_frame->{payload}, $reply, "$name: then the message");

    $name = case('fragmented binary message with a ping inside');
    $ws->send_frame(BINARY, substr($msg, 0, 5), fin => 0);
    $ws->ping('');
    $ws->send_frame(CONT, substr($msg, 5));
    is(hex_of($ws->recv_frame->{bytes}), '8a00', "$name: empty pong");
    $f = $ws->recv_frame;
    is($f->{opcode}, TEXT, "$name: reply as text");
    is($f->{payload}, $reply, "$name: reply");

    $name = case('fragmented message over kvmq_ws_max_message');
    $ws->send_frame(TEXT, 'x' x 40000, fin => 0);
    $ws->send_frame(CONT, 'x' x 30000, fin => 0);
    $ws->send_frame(CONT, 'x' x 1);
    fails_with($ws, 1009, 'message too big', $name);
}


# ---- control frames -----------------------------------------------------------

{
    my $ws = ws();
    my $name = case('ping with 125 bytes');
    my $p = join '', map { chr } 0 .. 124;
    $ws->ping($p);
    is(hex_of($ws->recv_frame->{bytes}), hex_of("\x8a\x7d" . $p),
       "$name: pong echoes it");

    $name = case('ping with no payload');
    $ws->ping('');
    is(hex_of($ws->recv_frame->{bytes}), '8a00', "$name: empty pong");

    $name = case('ten pings in a row');
    $ws->send_raw(join '', map { $ws->frame(PING, "p$_") } 1 .. 10);
    my $all = join ',', map { $ws->recv_frame->{payload} } 1 .. 10;
    is($all, join(',', map { "p$_" } 1 .. 10), "$name: ten pongs in order");

    $name = case('unsolicited pong');
    $ws->pong('nobody asked');
    $ws->send_text('{"id":3,"cmd":["PING"]}');
    is($ws->recv_frame->{payload}, '{"id":3,"result":"PONG"}',
       "$name: ignored");

    $name = case('ping with 126 bytes');
    $ws->ping('x' x 126);
    fails_with($ws, 1002, 'control frame over 125 bytes', $name);
}

{
    my $name = case('fragmented ping');
    my $ws = ws();
    $ws->send_frame(PING, 'a', fin => 0);
    fails_with($ws, 1002, 'fragmented control frame', $name);

    $name = case('fragmented close');
    $ws = ws();
    $ws->send_frame(CLOSE, pack('n', 1000), fin => 0);
    fails_with($ws, 1002, 'fragmented control frame', $name);

    $name = case('pong with 126 bytes');
    $ws = ws();
    $ws->pong('x' x 126);
    fails_with($ws, 1002, 'control frame over 125 bytes', $name);
}


# ---- framing errors -------------------------------------------------------------

{
    my $name = case('unmasked frame');
    my $ws = ws();
    $ws->send_frame(TEXT, '{"id":1,"cmd":["PING"]}', mask => 0);
    fails_with($ws, 1002, 'unmasked client frame', $name);

    for my $rsv (1, 2, 4) {
        $name = case("RSV bits $rsv");
        $ws = ws();
        $ws->send_frame(TEXT, '{"id":1,"cmd":["PING"]}', rsv => $rsv);
        fails_with($ws, 1002, 'reserved bits set', $name);
    }

    $name = case('RSV bit on a ping');
    $ws = ws();
    $ws->send_frame(PING, 'x', rsv => 4);
    fails_with($ws, 1002, 'reserved bits set', $name);

    for my $op (3 .. 7, 0xb .. 0xf) {
        $name = case(sprintf 'reserved opcode 0x%x', $op);
        $ws = ws();
        $ws->send_frame($op, 'x');
        fails_with($ws, 1002, 'reserved opcode', $name);
    }

    $name = case('continuation without a message');
    $ws = ws();
    $ws->send_frame(CONT, 'x');
    fails_with($ws, 1002, 'continuation frame without a message', $name);

    $name = case('text frame inside a fragmented message');
    $ws = ws();
    $ws->send_frame(TEXT, '{"id":', fin => 0);
    $ws->send_frame(TEXT, '1}');
    fails_with($ws, 1002, 'new message inside a fragmented one', $name);

    $name = case('binary frame inside a fragmented text message');
    $ws = ws();
    $ws->send_frame(TEXT, '{"id":', fin => 0);
    $ws->send_frame(BINARY, '1}');
    fails_with($ws, 1002, 'new message inside a fragmented one', $name);

    $name = case('64-bit length with the top bit set');
    $ws = ws();
    $ws->send_raw("\x81\xff\x80\x00\x00\x00\x00\x00\x00\x01abcd");
    fails_with($ws, 1002, 'invalid frame length', $name);

    $name = case('message over kvmq_ws_max_message, failed at the header');
    $ws = ws();
    my $t0 = time;
    $ws->send_raw($ws->frame(TEXT, 'x' x 70001) =~ s/^(.{14}).*/$1/sr);
    fails_with($ws, 1009, 'message too big', $name);
    ok(time - $t0 < 2 * $S, "$name: without waiting for the payload");

    $name = case('a 2^62 byte frame');
    $ws = ws();
    $ws->send_raw("\x82\xff" . pack('Q>', 1 << 62) . 'mask');
    fails_with($ws, 1009, 'message too big', $name);
}


# ---- UTF-8 ---------------------------------------------------------------------

{
    my %bad = (
        'lone continuation byte'   => "\x80",
        'overlong 2 bytes'         => "\xc0\xaf",
        'overlong 3 bytes'         => "\xe0\x80\xaf",
        'overlong 4 bytes'         => "\xf0\x80\x80\xaf",
        'surrogate U+D800'         => "\xed\xa0\x80",
        'surrogate U+DFFF'         => "\xed\xbf\xbf",
        'past U+10FFFF'            => "\xf4\x90\x80\x80",
        'byte 0xf5'                => "\xf5\x80\x80\x80",
        'byte 0xfe'                => "\xfe",
        'byte 0xff'                => "\xff",
        'start byte then ASCII'    => "\xe2\x82(",
    );

    for my $k (sort keys %bad) {
        my $name = case("invalid UTF-8: $k");
        my $ws = ws();
        $ws->send_text('{"id":1,"cmd":["ECHO","' . $bad{$k} . '"]}');
        fails_with($ws, 1007, 'invalid UTF-8 in a text message', $name);
    }

    my $name = case('valid UTF-8 at the edges of every range');
    my $ws = ws();
    my $s = join '', map { chr } 0x7f, 0x80, 0x7ff, 0x800, 0xd7ff, 0xe000,
                                0xfffd, 0xffff, 0x10000, 0x10ffff;
    utf8::encode($s);
    $ws->send_text('{"id":1,"cmd":["ECHO","' . $s . '"]}');
    is($ws->recv_frame->{payload}, '{"id":1,"result":"' . $s . '"}',
       "$name: echoed");

    $name = case('invalid UTF-8 across two fragments');
    $ws->send_frame(TEXT, "{\"id\":1,\"cmd\":[\"ECHO\",\"\xe2\x82", fin => 0);
    $ws->send_frame(CONT, "(\"]}");
    fails_with($ws, 1007, 'invalid UTF-8 in a text message', $name);

    $name = case('a text message ending inside a UTF-8 sequence');
    $ws = ws();
    $ws->send_text("\"\xe2\x82");
    fails_with($ws, 1007, 'invalid UTF-8 in a text message', $name);

    $name = case('fail fast: invalid UTF-8 before the frame is complete');
    $ws = ws();
    my $frame = $ws->frame(TEXT, "{\"id\":1,\"cmd\":[\"\xff" . ('x' x 200));
    $ws->send_raw(substr($frame, 0, 30));
    my $t0 = time;
    fails_with($ws, 1007, 'invalid UTF-8 in a text message', $name);
    ok(time - $t0 < 2 * $S, "$name: at once");

    $name = case('binary messages are not UTF-8 checked by the framing');
    $ws = ws();
    $ws->send_binary("{\"id\":1,\"cmd\":[\"ECHO\",\"\xff\"]}");
    like($ws->recv_frame->{payload}, qr/^\{"id":null,"error":\{"error":"BADREQ"/,
         "$name: a JSON error, not a close");
}


# ---- close ---------------------------------------------------------------------

for my $code (1000 .. 1003, 1007 .. 1014, 3000, 3999, 4000, 4999) {
    my $name = case("close with valid code $code");
    my $ws = ws();
    $ws->send_close($code, 'fine');
    my $f = $ws->recv_frame;
    is(hex_of($f && $f->{bytes}), hex_of(close_bytes($code)),
       "$name: the code echoed");
    ok($ws->wait_eof(3 * $S), "$name: the server closes the connection");
}

for my $code (0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999,
              5000, 65535)
{
    my $name = case("close with invalid code $code");
    my $ws = ws();
    $ws->send_close($code);
    fails_with($ws, 1002, 'invalid close code', $name);
}

{
    my $name = case('close with an empty payload');
    my $ws = ws();
    $ws->send_close;
    is(hex_of($ws->recv_frame->{bytes}), '8800', "$name: empty close back");
    ok($ws->wait_eof(3 * $S), "$name: connection closed");

    $name = case('close with a 1-byte payload');
    $ws = ws();
    $ws->send_frame(CLOSE, "\x03");
    fails_with($ws, 1002, 'close frame of 1 byte', $name);

    $name = case('close with a 123-byte UTF-8 reason');
    $ws = ws();
    $ws->send_close(1000, "\xc3\xa9" x 61 . 'x');
    is(hex_of($ws->recv_frame->{bytes}), hex_of(close_bytes(1000)),
       "$name: echoed");

    $name = case('close with a reason that is not UTF-8');
    $ws = ws();
    $ws->send_close(1000, "bad \xff reason");
    fails_with($ws, 1007, 'close reason is not UTF-8', $name);

    $name = case('frames after the close frame are ignored');
    $ws = ws();
    $ws->send_raw($ws->frame(CLOSE, pack('n', 1001))
                  . $ws->frame(TEXT, '{"id":1,"cmd":["PING"]}')
                  . $ws->frame(PING, 'late'));
    is(hex_of($ws->recv_frame->{bytes}), hex_of(close_bytes(1001)),
       "$name: the close echoed");
    is($ws->recv_frame(1), undef, "$name: nothing else");
    ok($ws->eof, "$name: connection closed");

    $name = case('replies queued before the close are sent first');
    $ws = ws();
    $ws->send_raw($ws->frame(TEXT, '{"id":1,"cmd":["PING"]}')
                  . $ws->frame(CLOSE, pack('n', 1000)));
    is($ws->recv_frame->{payload}, '{"id":1,"result":"PONG"}',
       "$name: the reply");
    is(hex_of($ws->recv_frame->{bytes}), hex_of(close_bytes(1000)),
       "$name: then the close");
}


# ---- the handshake -------------------------------------------------------------

{
    my $name = case('frames in the same packet as the handshake');
    my $ws = Kvmq::WS->new($t, no_handshake => 1);
    $ws->handshake(after => $ws->frame(TEXT, '{"id":"early","cmd":["PING"]}'));
    is($ws->status, 101, "$name: 101");
    is($ws->recv_frame->{payload}, '{"id":"early","result":"PONG"}',
       "$name: the frame is served");

    my @bad = (
        ['no Upgrade', [Upgrade => undef]],
        ['Upgrade: h2c', [Upgrade => 'h2c']],
        ['no Connection: upgrade', [Connection => 'keep-alive']],
        ['version 8', ['Sec-WebSocket-Version' => '8']],
        ['no version', ['Sec-WebSocket-Version' => undef]],
        ['no key', ['Sec-WebSocket-Key' => undef]],
        ['a key of 15 bytes', ['Sec-WebSocket-Key' => 'AAAAAAAAAAAAAAAAAAAA']],
        ['a key that is not base64',
         ['Sec-WebSocket-Key' => '!!!!!!!!!!!!!!!!!!!!!!==']],
        ['a body', ['Content-Length' => '2']],
    );

    for my $b (@bad) {
        $name = case("handshake: $b->[0]");
        $ws = Kvmq::WS->new($t, headers => $b->[1],
                            ($b->[0] eq 'a body' ? (after => 'xx') : ()));
        is($ws->status, 400, "$name: 400");
        is($ws->header('Sec-WebSocket-Version'), '13',
           "$name: Sec-WebSocket-Version: 13");
        is(($ws->json // {})->{error}, 'BADREQ', "$name: JSON error");
    }

    $name = case('handshake: HTTP/1.0');
    $ws = Kvmq::WS->new($t, http => 'HTTP/1.0');
    is($ws->status, 400, "$name: 400");
    like(($ws->json // {})->{message}, qr/HTTP\/1\.1/, "$name: says why");

    $name = case('handshake: POST');
    $ws = Kvmq::WS->new($t, method => 'POST',
                        headers => ['Content-Length' => 0]);
    is($ws->status, 405, "$name: 405");
    is($ws->header('Allow'), 'GET', "$name: Allow: GET");
}


# ---- server pings --------------------------------------------------------------

{
    my $name = case('server ping every kvmq_ws_ping, answered');
    my $ws = ws(path => '/ping/ws');
    my ($pings, $other) = (0, 0);
    my $end = time + 1.5 * $S;
    while (time < $end) {
        my $f = $ws->recv_frame($end - time) or last;
        if ($f->{opcode} == PING) {
            $pings++;
            $ws->pong($f->{payload});
        } else {
            $other++;
        }
    }
    cmp_ok($pings, '>=', 3, "$name: pings ($pings)");
    is($other, 0, "$name: nothing else");
    is($ws->cmd(1, ['PING'])->{result}, 'PONG', "$name: still open");

    $name = case('server ping not answered');
    $ws = ws(path => '/ping/ws');
    my $t0 = time;
    is(hex_of($ws->recv_frame->{bytes}), '8900', "$name: a ping");
    fails_with($ws, 1002, 'no pong', $name);
    cmp_ok(time - $t0, '<', 2 * $S, "$name: closed after two intervals");
}


# ---- slow reader ---------------------------------------------------------------

{
    my $name = case('slow reader over kvmq_ws_send_buffer');
    my $ws = ws(port_n => 1, path => '/slow/ws', rcvbuf => 4096);
    is($ws->status, 101, "$name: 101");
    $ws->cmd(0, ['SET', 'big', 'x' x 30000]);
    $ws->send_raw(join '', map {
        $ws->frame(TEXT, "{\"id\":$_,\"cmd\":[\"GET\",\"big\"]}") } 1 .. 200);
    sleep 0.5;
    my ($code, $reason) = $ws->recv_close(10 * $S);
    is($code, 1008, "$name: close 1008");
    is($reason, 'send buffer full', "$name: reason");
    my @got = @{$ws->{skipped}};
    my $whole = grep { $_->{payload} =~ /^\{"id":\d+,"result":"x{30000}"\}$/ }
                @got;
    is($whole, scalar @got, "$name: every frame before it whole");
    cmp_ok(scalar @got, '<', 200, "$name: not every reply was kept");
    my $t0 = time;
    $ws->send_close(1000);
    ok($ws->wait_eof(3 * $S), "$name: connection closed");
    cmp_ok(time - $t0, '<', 1 * $S, "$name: as soon as the client closed");
    like($t->error_log, qr/over kvmq_ws_send_buffer, closing/,
         "$name: logged");
}


# ---- a client that vanishes ----------------------------------------------------

{
    my $name = case('clients that vanish mid-frame and mid-message');
    for my $i (1 .. 20) {
        my $ws = ws();
        $ws->send_raw(substr($ws->frame(TEXT, 'x' x 1000), 0, 100 + $i));
        CORE::close($ws->sock);
        $ws = ws();
        $ws->send_frame(TEXT, '{"id":', fin => 0);
        $ws->{sock}->shutdown(1);
    }
    my $ws = ws();
    is($ws->cmd(1, ['PING'])->{result}, 'PONG', "$name: server fine");
}


# ---- reload ---------------------------------------------------------------------

{
    my $name = case('reload closes WebSocket connections with 1012');
    my (@ws, %pids);
    for (1 .. 200) {
        my $w = ws();
        push @ws, $w;
        $pids{$w->header('X-Pid')}++;
        last if keys %pids == 2 && @ws >= 6;
    }
    is(scalar(keys %pids), 2, "$name: connections on both workers");

    # a reply too big for the kernel buffers is still queued in kvmq
    my $pending = ws(port_n => 1, rcvbuf => 4096);
    $t->put('/kvmq/kv/huge', 'y' x 300000);
    $pending->send_text('{"id":"p","cmd":["GET","huge"]}');
    sleep 0.2;

    # one that will never answer the close frame
    my $mute = ws();

    my @old = $t->worker_pids;
    ok($t->reload, "$name: reloaded");

    for my $w (@ws) {
        my ($code, $reason) = $w->recv_close(5 * $S);
        is("$code $reason", '1012 server restart', "$name: close frame")
            or last;
        $w->send_close(1012);
        ok($w->wait_eof(3 * $S), "$name: then closed") or last;
    }

    my $m = $pending->recv_message(10 * $S);
    is(length($m // ''), 300000 + 22, "$name: a pending reply is flushed");
    my ($code) = $pending->recv_close(5 * $S);
    is($code, 1012, "$name: before the close frame");
    $pending->send_close(1012);

    my ($mcode) = $mute->recv_close(5 * $S);
    is($mcode, 1012, "$name: the mute client too");
    ok($mute->wait_eof(4 * $S),
       "$name: closed after lingering_timeout without its answer");

    my $gone = 0;
    my $end = time + 10 * $S;
    while (time < $end) {
        $gone = !grep { kill 0, $_ } @old;
        last if $gone;
        sleep 0.05;
    }
    ok($gone, "$name: the old workers exited");

    my $ws = ws();
    is($ws->cmd(1, ['GET', 'huge'])->{result}, 'y' x 300000,
       "$name: the new workers serve");
}

$t->done;
