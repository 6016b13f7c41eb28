#!/usr/bin/perl

# Pub/sub over WebSocket with four workers: SUBSCRIBE / UNSUBSCRIBE /
# PSUBSCRIBE / PUNSUBSCRIBE replies (Redis semantics, as the result of
# the request), pushes from publishers on every worker in order, SINCE
# replay with gap reporting, base64 and non-UTF-8 data, errors, counts
# after a close, a subscriber that cannot keep up (1008), and resuming
# with SINCE through a reload (1012).

use strict;
use warnings;

use Encode qw(decode_utf8);
use MIME::Base64 qw(encode_base64 decode_base64);
use Test::More;
use Time::HiRes qw(time sleep);

use lib 't/lib';
use Kvmq::Test qw(json_decode json_encode);
use Kvmq::WS;

my $t = Kvmq::Test->new->skip_unless_module;
$t->conf(<<'EOF')->run;
load_module %%MODULE%%;
worker_processes 4;

http {
    kvmq_zone main size=16m history=5;
    server {
        listen 127.0.0.1:%%PORT%% reuseport;
        client_max_body_size 2m;
        location /kvmq/ {
            kvmq_api main;
            kvmq_max_key 64;
            add_header X-Pid $pid always;
        }
        location /slow/ {
            kvmq_api main;
            kvmq_ws_send_buffer 64k;
            kvmq_max_value 1m;
        }
    }
}
EOF

my $SLOW = $Kvmq::Test::SLOW;

# a connection with a queue of the pushes met while waiting for replies
sub ws {
    my (%o) = @_;
    my $ws = Kvmq::WS->new($t, %o) or return undef;
    $ws->{pushes} = [];
    return $ws;
}

sub call {
    my ($ws, $id, @argv) = @_;
    my @a = map { "$_" } @argv;
    $ws->send_text(json_encode({ id => $id, cmd => \@a })) or return undef;
    my $deadline = time + 5 * $SLOW;
    while (time < $deadline) {
        my $m = $ws->recv_message($deadline - time) // return undef;
        my $j = eval { json_decode($m) } // return { raw => $m };
        if (exists $j->{type} && !exists $j->{id}) {
            push @{$ws->{pushes}}, $j;
            next;
        }
        return $j;
    }
    return undef;
}

# n pushes (those already queued first)
sub pushes {
    my ($ws, $n, $timeout) = @_;
    my $deadline = time + ($timeout // 5) * $SLOW;
    while (@{$ws->{pushes}} < $n && time < $deadline) {
        my $m = $ws->recv_message($deadline - time) // last;
        push @{$ws->{pushes}}, eval { json_decode($m) } // { raw => $m };
    }
    my @p = splice @{$ws->{pushes}}, 0, $n;
    return wantarray ? @p : scalar @p;
}

sub numsub {
    my ($ch) = @_;
    return ($t->cmd('PUBSUB', 'NUMSUB', $ch)->json // {})->{$ch};
}

sub numsub_is {
    my ($ch, $n, $name) = @_;
    my $deadline = time + 5 * $SLOW;
    my $got;
    while (time < $deadline) {
        $got = numsub($ch);
        last if defined $got && $got == $n;
        sleep 0.02;
    }
    is($got, $n, $name);
}

sub publish {
    my ($ch, $body) = @_;
    return $t->post("/kvmq/publish/$ch", $body)->json // {};
}


###########################################################################
# the commands and their replies

{
    my $ws = ws();
    is($ws->status, 101, 'WebSocket up');

    is_deeply(call($ws, 1, 'SUBSCRIBE', 'a', 'b'),
              { id => 1, result => [['subscribe', 'a', 1],
                                    ['subscribe', 'b', 2]] },
              'SUBSCRIBE a b');
    is_deeply(call($ws, 2, 'subscribe', 'a'),
              { id => 2, result => [['subscribe', 'a', 2]] },
              'again: nothing changes (case-insensitive command)');
    is_deeply(call($ws, 3, 'SUBSCRIBE', 'c', 'c'),
              { id => 3, result => [['subscribe', 'c', 3],
                                    ['subscribe', 'c', 3]] },
              'the same channel twice in one command');
    is_deeply(call($ws, 4, 'PSUBSCRIBE', 'news.*'),
              { id => 4, result => [['psubscribe', 'news.*', 4]] },
              'PSUBSCRIBE');

    numsub_is('a', 1, 'NUMSUB a: 1');
    is_deeply($t->cmd('PUBSUB', 'NUMPAT')->json, 1, 'NUMPAT 1');

    is(publish('a', 'hello')->{receivers}, 1, 'publish a: 1 receiver');
    is(publish('news.sport', 'goal')->{receivers}, 1,
       'publish news.sport: 1 receiver (the pattern)');
    is_deeply(call($ws, 5, 'PUBLISH', 'b', 'from ws'),
              { id => 5, result => 1 }, 'PUBLISH over WebSocket');

    is_deeply([pushes($ws, 3)],
              [{ type => 'message', channel => 'a', pattern => undef,
                 data => 'hello', seq => 1 },
               { type => 'message', channel => 'news.sport',
                 pattern => 'news.*', data => 'goal', seq => 1 },
               { type => 'message', channel => 'b', pattern => undef,
                 data => 'from ws', seq => 1 }],
              'the pushes, in publish order');

    is_deeply(call($ws, 6, 'UNSUBSCRIBE', 'a', 'nope'),
              { id => 6, result => [['unsubscribe', 'a', 3],
                                    ['unsubscribe', 'nope', 3]] },
              'UNSUBSCRIBE a nope');
    is(publish('a', 'x')->{receivers}, 0, 'a: 0 receivers');

    my $r = call($ws, 7, 'UNSUBSCRIBE');
    is_deeply([sort { $a->[1] cmp $b->[1] } @{$r->{result}}],
              [['unsubscribe', 'b', 2], ['unsubscribe', 'c', 1]],
              'UNSUBSCRIBE: all channels, patterns kept');
    is_deeply(call($ws, 8, 'UNSUBSCRIBE'),
              { id => 8, result => [['unsubscribe', undef, 1]] },
              'UNSUBSCRIBE with none left');
    is_deeply(call($ws, 9, 'PUNSUBSCRIBE'),
              { id => 9, result => [['punsubscribe', 'news.*', 0]] },
              'PUNSUBSCRIBE: all patterns');
    is_deeply($t->cmd('PUBSUB', 'NUMPAT')->json, 0, 'NUMPAT 0');

    # errors
    for my $bad (['SUBSCRIBE'], ['PSUBSCRIBE'],
                 ['SUBSCRIBE', 'a', 'SINCE', 'x'],
                 ['SUBSCRIBE', 'a', 'SINCE', '-1'])
    {
        $r = call($ws, 10, @$bad);
        is($r->{error}{error}, 'BADREQ', "@$bad: BADREQ");
    }
    $r = call($ws, 11, 'SUBSCRIBE', 'x' x 65);
    is($r->{error}{error}, 'TOOLARGE', 'channel over kvmq_max_key');
    $ws->send_text('{"id":12,"cmd":[["SUBSCRIBE","a"],["PING"]]}');
    $r = json_decode($ws->recv_message);
    is($r->{error}{error}, 'BADREQ', 'not in a batch');
    is_deeply(call($ws, 13, 'PING'), { id => 13, result => 'PONG' },
              'the connection goes on');

    is_deeply(call($ws, 14, 'SUBSCRIBE', 'gone1', 'gone2'),
              { id => 14, result => [['subscribe', 'gone1', 1],
                                     ['subscribe', 'gone2', 2]] },
              'two more');
    numsub_is('gone1', 1, 'NUMSUB gone1: 1');
    $ws->close;
    numsub_is('gone1', 0, 'closing the connection drops its counts');
    numsub_is('gone2', 0, 'all of them');
}


###########################################################################
# data encodings

{
    my $ws = ws();
    call($ws, 1, 'SUBSCRIBE', 'enc');
    publish('enc', "caf\xc3\xa9 \"q\" \\ \n\t\x01");
    publish('enc', "\xff\xfe");
    my @p = pushes($ws, 2);
    is($p[0]{data}, decode_utf8("caf\xc3\xa9 \"q\" \\ \n\t\x01"),
       'UTF-8 and escapes');
    is_deeply($p[1]{data}, { base64 => encode_base64("\xff\xfe", '') },
              'not UTF-8: {"base64": ...}');
    $ws->close;

    my $b = ws(path => '/kvmq/ws?encoding=base64');
    my $r = call($b, 1, encode_base64('SUBSCRIBE', ''),
                 encode_base64("b\x00in", ''));
    is_deeply($r->{result}, [[encode_base64('subscribe', ''),
                              encode_base64("b\x00in", ''), 1]],
              '?encoding=base64: the reply, every string in base64');
    my $pr = $t->http('POST', '/kvmq/cmd?encoding=base64', [],
                      json_encode([map { encode_base64($_, '') }
                                   'PUBLISH', "b\x00in", "v\xff"]));
    is($pr->body, '1', 'published through /cmd');
    my ($p) = pushes($b, 1);
    is($p->{channel}, encode_base64("b\x00in", ''), 'channel in base64');
    is($p->{data}, encode_base64("v\xff", ''), 'data in base64');
    $b->close;
}


###########################################################################
# SINCE

{
    publish('hist', "h$_") for 1 .. 8;      # history=5: 4..8 kept

    my $ws = ws();
    my $r = call($ws, 1, 'SUBSCRIBE', 'hist', 'SINCE', 5);
    is_deeply($r->{result},
              [['subscribe', 'hist', 1, { since => 5, first => 6, last => 8 }]],
              'SINCE 5: replays 6..8');
    my @p = pushes($ws, 3);
    is_deeply([map { "$_->{seq}:$_->{data}" } @p], ['6:h6', '7:h7', '8:h8'],
              'the replay');
    publish('hist', 'h9');
    @p = pushes($ws, 1);
    is_deeply([map { $_->{seq} } @p], [9], 'then live, no duplicate');
    $ws->close;

    $ws = ws();
    $r = call($ws, 1, 'SUBSCRIBE', 'hist', 'SINCE', 1);
    is_deeply($r->{result}[0][3], { since => 1, first => 5, last => 9 },
              'SINCE 1: the reply says the ring starts at 5');
    @p = pushes($ws, 6);
    is_deeply($p[0], { type => 'gap', channel => 'hist', since => 1,
                       first => 5 }, 'a gap push first');
    is_deeply([map { $_->{seq} } @p[1 .. 5]], [5 .. 9], 'then 5..9');
    $ws->close;

    $ws = ws();
    $r = call($ws, 1, 'SUBSCRIBE', 'hist', 'SINCE', 9);
    is_deeply($r->{result}[0][3], { since => 9, first => 10, last => 9 },
              'SINCE the last: nothing to replay');
    is(scalar(pushes($ws, 1, 0.3)), 0, 'no push');
    $ws->close;
}


###########################################################################
# across workers

{
    my (%by, @all);
    for (1 .. 200) {
        my $ws = ws();
        my $pid = $ws->{headers}{'x-pid'};
        if (defined $pid && @{$by{$pid} //= []} < 3) {
            push @{$by{$pid}}, $ws;
            push @all, $ws;
        } else {
            CORE::close($ws->{sock});
            $ws->{sock} = undef;
        }
        last if @all == 12;
    }
    is(scalar keys %by, 4, 'WebSocket connections on all 4 workers');

    my $n = 0;
    for my $ws (@all) {
        $n++;
        call($ws, 1, 'SUBSCRIBE', 'fan');
        call($ws, 2, 'PSUBSCRIBE', 'f*') if $n % 3 == 0;
    }
    my $pats = int(@all / 3);

    numsub_is('fan', scalar @all, 'NUMSUB fan: every connection');

    my $t0 = time;
    my @recv;
    push @recv, publish('fan', "m$_")->{receivers} for 1 .. 100;
    is_deeply([grep { $_ != @all + $pats } @recv], [],
              'every PUBLISH: ' . (@all + $pats) . ' receivers');

    my $ok = 0;
    $n = 0;
    for my $ws (@all) {
        $n++;
        my $want = $n % 3 == 0 ? 200 : 100;
        my @p = pushes($ws, $want, 5);
        my @m = grep { !defined $_->{pattern} } @p;
        my @pm = grep { defined $_->{pattern} } @p;
        $ok++ if join(',', map { $_->{seq} } @m) eq join(',', 1 .. 100)
             && join(',', map { $_->{data} } @m)
                eq join(',', map { "m$_" } 1 .. 100)
             && @pm == $want - 100;
    }
    is($ok, scalar @all, 'every connection: 1..100 once, in order '
                         . '(and the pattern copies)');
    ok(time - $t0 < 2 * $SLOW, sprintf('in %.3f s', time - $t0));

    $_->close for @all;
    numsub_is('fan', 0, 'all closed: 0');
}


###########################################################################
# a subscriber that does not read is closed with 1008

{
    my $stuck = ws(path => '/slow/ws', rcvbuf => 4096);
    my $fine = ws(path => '/slow/ws');
    call($stuck, 1, 'SUBSCRIBE', 'flood');
    call($fine, 1, 'SUBSCRIBE', 'flood');
    numsub_is('flood', 2, 'two subscribers');

    # frames under the 64k buffer: only a client that does not read fills
    # it, once the socket buffers on the way are full (a few MB)
    my $body = 'z' x 30_000;
    my $n = 400;
    my $got = 0;
    for my $i (1 .. $n) {
        $t->post('/slow/publish/flood', $body);
        $got += pushes($fine, 1, 1);
    }
    $got += pushes($fine, $n - $got, 5);
    is($got, $n, 'the reading one got them all');

    # behind what its socket buffers hold: ~2 s at the rate a 4k
    # receive buffer lets through
    my ($code, $reason) = $stuck->recv_close(10 * $SLOW);
    is($code, 1008, 'closed with 1008');
    is($reason, 'send buffer full', 'the reason');
    numsub_is('flood', 1, 'its count is gone');
    CORE::close($stuck->{sock});
    $stuck->{sock} = undef;
    numsub_is('flood', 1, 'its count is gone once the client leaves');
    $fine->close;
}


###########################################################################
# reload: 1012, then SINCE on a new worker misses nothing

{
    my $ws = ws();
    call($ws, 1, 'SUBSCRIBE', 'rl');
    publish('rl', 'before');
    my ($p) = pushes($ws, 1);
    my $last = $p->{seq};

    ok($t->reload, 'reload');
    publish('rl', 'during');

    my ($code) = $ws->recv_close(5 * $SLOW);
    is($code, 1012, 'the old worker closes with 1012');

    $ws = ws();
    my $r = call($ws, 1, 'SUBSCRIBE', 'rl', 'SINCE', $last);
    publish('rl', 'after');
    my @p = pushes($ws, 2);
    is_deeply([map { $_->{data} } @p], ['during', 'after'],
              'SINCE the last seq: nothing lost');
    $ws->close;
}

$t->done;
