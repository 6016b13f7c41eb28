#!/usr/bin/perl

# Server-Sent Events (GET /subscribe/{channel}) and POST /publish/{channel}
# with four workers: delivery across workers in order, the event format,
# resume with Last-Event-ID and ?since, gap events, keep-alive comments,
# counts after disconnects, latency that does not wait for the slow
# timer, slow clients, a graceful reload, and every error these routes
# answer.

use strict;
use warnings;

use MIME::Base64 qw(encode_base64);
use Test::More;
use Time::HiRes qw(time sleep);

use lib 't/lib';
use Kvmq::Test qw(json_decode json_encode);
use Kvmq::SSE;

my $t = Kvmq::Test->new->skip_unless_module;
$t->conf(<<'EOF')->run;
load_module %%MODULE%%;
worker_processes 4;

http {
    kvmq_zone main size=8m history=5;
    kvmq_zone tiny size=64k;
    kvmq_zone aged size=1m history=10 history_ttl=500ms;
    server {
        listen 127.0.0.1:%%PORT%% reuseport;
        client_max_body_size 4m;
        location /kvmq/ {
            kvmq_api main;
            kvmq_sse_ping 300ms;
            kvmq_max_key 64;
            kvmq_max_value 1k;
            add_header X-Pid $pid always;
        }
        location /ro/ { kvmq_api main; kvmq_readonly on; }
        location /slow/ {
            kvmq_api main;
            kvmq_sse_send_buffer 64k;
            kvmq_sse_ping 0;
            kvmq_max_value 1m;
        }
        location /tiny/ { kvmq_api tiny; }
        location /aged/ { kvmq_api aged; }
    }
}
EOF

my $SLOW = $Kvmq::Test::SLOW;

sub err_is {
    my ($r, $status, $code, $name) = @_;
    is($r->status, $status, "$name: $status");
    my $j = eval { json_decode($r->body) } // {};
    is($j->{error}, $code, "$name: $code");
}

sub sse { return Kvmq::SSE->new($t, @_); }

sub numsub {
    my ($ch) = @_;
    my $j = $t->cmd('PUBSUB', 'NUMSUB', $ch)->json // {};
    return $j->{$ch};
}

# wait until NUMSUB of ch is n
sub numsub_is {
    my ($ch, $n, $name) = @_;
    my $deadline = time + 3 * $SLOW;
    my $got;
    while (time < $deadline) {
        $got = numsub($ch);
        last if defined $got && $got == $n;
        sleep 0.02;
    }
    is($got, $n, $name);
}

sub publish {
    my ($ch, $body, $conn) = @_;
    my $r = $conn ? $conn->request('POST', "/kvmq/publish/$ch", [], $body)
                  : $t->post("/kvmq/publish/$ch", $body);
    return $r->json;
}


###########################################################################
# errors

{
    my $r = $t->post('/kvmq/subscribe/ch', 'x');
    err_is($r, 405, 'METHOD', 'POST /subscribe');
    is($r->header('Allow'), 'GET', 'Allow: GET');

    $r = $t->head('/kvmq/subscribe/ch');
    is($r->status, 405, 'HEAD /subscribe: 405');

    $r = $t->get('/kvmq/publish/ch');
    err_is($r, 405, 'METHOD', 'GET /publish');
    is($r->header('Allow'), 'POST', 'Allow: POST');

    err_is($t->get('/kvmq/subscribe'), 404, 'NOTFOUND', '/subscribe alone');
    err_is($t->get('/kvmq/subscribe/'), 404, 'NOTFOUND', '/subscribe/');
    err_is($t->get('/kvmq/subscribe/a/b'), 404, 'NOTFOUND',
           '/subscribe/a/b');
    err_is($t->post('/kvmq/publish', 'x'), 404, 'NOTFOUND', '/publish');

    for my $bad ('abc', '-1', '1.5', '', '18446744073709551616', '%zz') {
        err_is($t->get("/kvmq/subscribe/ch?since=$bad"), 400, 'BADREQ',
               "since=$bad");
    }

    err_is($t->get('/kvmq/subscribe/ch', headers => ['Last-Event-ID' => 'x1']),
           400, 'BADREQ', 'Last-Event-ID: x1');

    my $long = 'c' x 65;
    err_is($t->get("/kvmq/subscribe/$long"), 413, 'TOOLARGE',
           'subscribe: channel over kvmq_max_key');
    err_is($t->post("/kvmq/publish/$long", 'x'), 413, 'TOOLARGE',
           'publish: channel over kvmq_max_key');
    err_is($t->post('/kvmq/publish/ch', 'x' x 1025), 413, 'TOOLARGE',
           'publish: body over kvmq_max_value');
    is($t->post('/kvmq/publish/ch', 'x' x 1024)->status, 200,
       'publish: body at kvmq_max_value');

    err_is($t->post('/ro/publish/ch', 'x'), 403, 'DENIED',
           'publish on a read-only location');
    my $s = sse('/ro/subscribe/ch');
    is($s->status, 200, 'subscribe on a read-only location is fine');
    $s->close;

    # fill the tiny zone, then publish
    my $tiny = sub {
        $t->http('POST', '/tiny/cmd', ['Content-Type' => 'application/json'],
                 json_encode([@_]));
    };
    for my $size (4096, 512, 64, 8) {
        for my $i (1 .. 2000) {
            last if $tiny->('SET', "k$size.$i", 'v' x $size)->status != 200;
        }
    }
    err_is($t->post('/tiny/publish/ch', 'hello'), 507, 'NOMEM',
           'publish into a full zone');
    err_is($t->get('/tiny/subscribe/newchannel'), 507, 'NOMEM',
           'subscribe in a full zone');
    is($tiny->('FLUSHALL')->status, 200, 'FLUSHALL');
    is($t->post('/tiny/publish/ch', 'hello')->status, 200,
       'then publish works');
}


###########################################################################
# across workers: every subscriber gets every message once, in order

my $by = Kvmq::SSE::pinned_conns($t, 2);
ok($by, 'two connections on each of the 4 workers') or BAIL_OUT('no conns');

my @pids = sort keys %$by;
my (@subs, @pubs);

for my $pid (@pids) {
    my ($c1, $c2) = @{$by->{$pid}};
    my $s = sse('/kvmq/subscribe/news', conn => $c1);
    is($s->status, 200, "subscribed on worker $pid");
    is($s->header('Content-Type'), 'text/event-stream', 'event stream');
    is($s->header('Cache-Control'), 'no-cache', 'not cached');
    push @subs, $s;
    push @pubs, $c2;
}

numsub_is('news', 4, 'NUMSUB news: 4 over 4 workers');

{
    my (@receivers, @seqs);
    for my $i (1 .. 40) {
        my $j = publish('news', "msg $i", $pubs[$i % 4]);
        push @receivers, $j->{receivers};
        push @seqs, $j->{seq};
    }

    is_deeply([grep { $_ != 4 } @receivers], [], 'every PUBLISH: 4 receivers');
    is_deeply(\@seqs, [1 .. 40], 'seq 1..40');

    for my $k (0 .. 3) {
        my @ev = $subs[$k]->events(40, 5);
        is_deeply([map { $_->{id} } @ev], [1 .. 40],
                  "worker $pids[$k]: ids 1..40, once each, in order");
        is_deeply([map { $_->{data} } @ev], [map { "msg $_" } 1 .. 40],
                  "worker $pids[$k]: the data");
    }
}

# the event format

{
    my @msgs = ("a\nb", "a\r\nb", "a\rb", '', "trailing\n", "\n\n",
                'data: x', "\xc3\xa9t\xc3\xa9");
    publish('news', $_, $pubs[0]) for @msgs;

    my @ev = $subs[1]->events(scalar @msgs, 5);
    is_deeply([map { $_->{data} } @ev],
              ["a\nb", "a\nb", "a\nb", '', "trailing\n", "\n\n", 'data: x',
               "\xc3\xa9t\xc3\xa9"],
              'multi-line data survives the data: lines');

    my $b = sse('/kvmq/subscribe/bin?encoding=base64');
    publish('bin', "\x00\xff\n");
    my ($e) = $b->events(1, 5);
    is($e->{data}, encode_base64("\x00\xff\n", ''), '?encoding=base64');
    $b->close;
}

# keep-alive comments

{
    $subs[2]->pump(1);
    my @c = grep { /ping/ } $subs[2]->comments;
    ok(@c >= 2, 'keep-alive comments every 300ms (' . scalar(@c) . ')');
}


###########################################################################
# latency: delivery never waits for the 1 s timer

{
    $_->events(0, 0) for @subs;

    my $t0 = time;
    for my $i (1 .. 200) {
        publish('news', "fast $i", $pubs[$i % 4]);
    }
    my @n = map { scalar grep { $_->{data} =~ /^fast / } $_->events(200, 3) }
            @subs;
    my $dt = time - $t0;

    is_deeply(\@n, [200, 200, 200, 200], '200 messages to 4 workers');
    ok($dt < 1 * $SLOW, sprintf('all delivered in %.3f s', $dt));

    # one at a time: each arrives everywhere long before the timer
    my $worst = 0;
    for my $i (1 .. 10) {
        my $t1 = time;
        publish('news', "one $i", $pubs[$i % 4]);
        for my $s (@subs) {
            $s->events(1, 2);
        }
        my $d = time - $t1;
        $worst = $d if $d > $worst;
    }
    ok($worst < 0.25 * $SLOW, sprintf('worst single delivery %.3f s',
                                      $worst));
}


###########################################################################
# resume

{
    # history=5 (the zone's): ring holds 8..12 after 12 messages
    publish('ring', "r$_") for 1 .. 12;

    my $s = sse('/kvmq/subscribe/ring?since=2');
    my @ev = $s->events(6, 3);
    is($ev[0]{type}, 'gap', 'since=2: a gap event first');
    is_deeply(json_decode($ev[0]{data}), { since => 2, first => 8 },
              'gap: since 2, first 8');
    is_deeply([map { $_->{id} } @ev[1 .. $#ev]], [8 .. 12],
              'then what the ring holds');
    $s->close;

    $s = sse('/kvmq/subscribe/ring?since=7');
    @ev = $s->events(5, 3);
    is_deeply([map { "$_->{type}:$_->{id}" } @ev],
              [map { "message:$_" } 8 .. 12], 'since=7: no gap, 8..12');
    publish('ring', 'r13');
    @ev = $s->events(1, 3);
    is_deeply([map { $_->{id} } @ev], [13], 'then live, no duplicate');
    $s->close;

    $s = sse('/kvmq/subscribe/ring?since=7',
             headers => ['Last-Event-ID' => 11]);
    @ev = $s->events(2, 3);
    is_deeply([map { $_->{id} } @ev], [12, 13],
              'Last-Event-ID wins over since');
    $s->close;

    $s = sse('/kvmq/subscribe/ring', headers => ['Last-Event-ID' => 13]);
    is(scalar($s->events(1, 0.3)), 0, 'Last-Event-ID = last: nothing');
    publish('ring', 'r14');
    @ev = $s->events(1, 3);
    is_deeply([map { $_->{id} } @ev], [14], 'then live');
    $s->close;

    $s = sse('/kvmq/subscribe/ring?since=50');
    @ev = $s->events(1, 3);
    is($ev[0]{type}, 'gap', 'since past the last seq: gap');
    is_deeply(json_decode($ev[0]{data}), { since => 50, first => 15 },
              'gap: first is the next seq');
    $s->close;

    $s = sse('/kvmq/subscribe/fresh?since=0');
    publish('fresh', 'f1');
    @ev = $s->events(1, 3);
    is_deeply([map { "$_->{type}:$_->{id}" } @ev], ['message:1'],
              'since=0 on a new channel: no gap, seq 1');
    $s->close;

    # resume while a publisher keeps going, on other workers
    my $w = sse('/kvmq/subscribe/cont');
    my @got;
    my $pub = 0;
    for my $round (1 .. 5) {
        publish('cont', 'c' . ++$pub, $pubs[$_ % 4]) for 1 .. 3;
        push @got, $w->events(1, 2);
        my $last = $got[-1]{id};
        $w->close;
        publish('cont', 'c' . ++$pub, $pubs[1]);
        $w = sse('/kvmq/subscribe/cont',
                 headers => ['Last-Event-ID' => $last]);
    }
    push @got, $w->events($pub - @got, 3);
    $w->close;
    is_deeply([map { $_->{id} } @got], [1 .. $pub],
              'reconnecting with Last-Event-ID: no gap, no duplicate');
}


###########################################################################
# history_ttl, and the zone parameters checked by nginx -t

{
    $t->post('/aged/publish/a', 'old');
    sleep 0.7;
    $t->post('/aged/publish/a', 'new');

    my $s = sse('/aged/subscribe/a?since=0');
    my @ev = $s->events(2, 3);
    is_deeply([map { "$_->{type}:" . ($_->{id} // '') } @ev],
              ['gap:', 'message:2'], 'history_ttl: the old one aged out');
    is_deeply(json_decode($ev[0]{data}), { since => 0, first => 2 },
              'gap: first 2');
    $s->close;

    my $stats = $t->get('/aged/stats')->json;
    is($stats->{pubsub}{history}, 10, '/stats: history 10');
    is($stats->{pubsub}{history_ttl_ms}, 500, '/stats: history_ttl 500');

    for my $bad ('history=-1', 'history=x', 'history=2000000',
                 'history_ttl=soon')
    {
        my ($rc, $out) = $t->test_config("load_module %%MODULE%%;\n"
            . "http { kvmq_zone z size=1m $bad; }\n");
        isnt($rc, 0, "nginx -t rejects $bad");
        my ($name) = $bad =~ /^(\w+)=/;
        like($out, qr/invalid $name "\Q$bad\E"/, "and names it ($bad)");
    }

    my ($rc, $out) = $t->test_config("load_module %%MODULE%%;\n"
        . "http { kvmq_zone z size=1m history=0 history_ttl=1h; }\n");
    is($rc, 0, 'history=0 history_ttl=1h is fine') or diag($out);
}


###########################################################################
# disconnects clean the counts

{
    my @s = map { sse('/kvmq/subscribe/gone') } 1 .. 6;
    numsub_is('gone', 6, 'six subscribers');
    is(publish('gone', 'x')->{receivers}, 6, 'PUBLISH: 6');
    $_->close for @s[0 .. 3];
    numsub_is('gone', 2, 'four closed: 2 left');
    is(publish('gone', 'y')->{receivers}, 2, 'PUBLISH: 2');
    $_->close for @s[4, 5];
    numsub_is('gone', 0, 'all closed: 0');
    is_deeply($t->cmd('PUBSUB', 'CHANNELS', 'gone')->json, [],
              'not an active channel any more');
}


###########################################################################
# a client that does not read is dropped, the others go on

{
    my $stuck = sse('/slow/subscribe/flood', rcvbuf => 4096);
    my $fine = sse('/slow/subscribe/flood');
    is($stuck->status, 200, 'a subscriber that will not read');
    numsub_is('flood', 2, 'two subscribers');

    my $body = 'z' x 100_000;
    my $n = 0;
    my $fine_got = 0;
    my $deadline = time + 20 * $SLOW;
    while (time < $deadline) {
        $n++;
        my $r = $t->post("/slow/publish/flood", $body);
        $fine_got += grep { $_->{type} eq 'message' } $fine->events(1, 1);
        last if ($r->json // {})->{receivers} == 1 && $n > 5;
    }
    ok($n < 400, "the stuck client was dropped after $n messages");
    $fine_got += grep { $_->{type} eq 'message' } $fine->events($n - $fine_got, 5);
    is($fine_got, $n, 'the reading client got all of them');
    numsub_is('flood', 1, 'one subscriber left');
    $stuck->close;
    $fine->close;
}


###########################################################################
# graceful reload: the stream ends with a retry hint, resume is seamless

{
    my $s = sse('/kvmq/subscribe/reload');
    publish('reload', 'before');
    my @ev = $s->events(1, 3);
    my $last = $ev[0]{id};

    $_->close for @subs;
    $_->close for @pubs;

    ok($t->reload, 'reload');
    publish('reload', 'during');

    $s->wait_close(5);
    ok($s->closed, 'the old worker ended the stream');
    is($s->retry, 1000, 'with retry: 1000');

    $s = sse('/kvmq/subscribe/reload', headers => ['Last-Event-ID' => $last]);
    publish('reload', 'after');
    @ev = $s->events(2, 3);
    is_deeply([map { $_->{data} } @ev], ['during', 'after'],
              'resumed on a new worker without loss');
    $s->close;
}

$t->done;
