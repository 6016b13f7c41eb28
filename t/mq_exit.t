#!/usr/bin/perl

# A worker that exits takes nothing with it (queues, RPC).  With two
# workers: WebSocket consumers hold unacked deliveries, HTTP gets are
# parked on an empty queue, RPC callers are parked over HTTP and over
# WebSocket, on both workers; then the workers go, by a reload, by
# SIGKILL, by a reload again.  Each time: the parked requests of a
# graceful exit are answered, the deliveries are back in their queue as
# redelivered, no consumer is left counted, a message published to the
# queue of the parked gets is not swallowed by a gone waiter, replies
# to the gone callers' reply_to are 404, the zone keeps answering (no
# held lock), and its used bytes after each round are what they were
# after the first one (no leaked block).

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time sleep);

use lib 't/lib';
use Kvmq::Test qw(json_decode json_encode);
use Kvmq::WS;

my $t = Kvmq::Test->new->skip_unless_module;
$t->conf(<<'EOF')->run;
load_module %%MODULE%%;
worker_processes 2;

http {
    kvmq_zone main size=16m;
    server {
        listen 127.0.0.1:%%PORT%%;
        location /kvmq/ { kvmq_api main; add_header X-Pid $pid always; }
    }
}
EOF

my $SLOW = $Kvmq::Test::SLOW;

sub J { my $r = shift; return eval { json_decode($r->{body}) }; }
sub info { return J($t->http(GET => "/kvmq/queues/$_[0]")); }
sub used { return J($t->http(GET => '/kvmq/stats'))->{zone}{used}; }

sub ws { return Kvmq::WS->new($t, path => '/kvmq/ws'); }

sub send_post {
    my ($c, $path, $body) = @_;
    return $c->send_all(Kvmq::Test::Conn::_build('POST', $path, [],
                                                  $body // ''));
}

sub reply {
    my ($c) = @_;
    return $c->_response('POST', time + 5 * $SLOW);
}

# the deliveries pushed to $w until it has $n of them
sub deliveries {
    my ($w, $n) = @_;
    my @d;
    while (@d < $n) {
        my $m = $w->recv_message(5) // last;
        my $j = eval { json_decode($m) } // next;
        push @d, $j if ref $j eq 'HASH' && ($j->{type} // '') eq 'delivery';
    }
    return @d;
}

# until cond() holds, for a bounded time
sub eventually {
    my ($cond) = @_;
    my $deadline = time + 5 * $SLOW;
    while (time < $deadline) {
        return 1 if $cond->();
        sleep 0.05;
    }
    return $cond->();
}

for my $q (qw(jobs empty svc)) {
    is($t->http(PUT => "/kvmq/queues/$q")->status, 201, "declare $q");
}

my $baseline;

for my $round (1 .. 3) {
    my $how = $round == 2 ? 'SIGKILL' : 'reload';
    my $tag = "round $round ($how)";

    # two consumers holding 3 unacked deliveries each
    for my $i (1 .. 6) {
        $t->http(POST => '/kvmq/queues/jobs/messages', {}, "j$i");
    }
    my @w = (ws(), ws());
    my $id = 0;
    for my $w (@w) {
        $w->send_text(json_encode({ id => ++$id,
                                    cmd => ['CONSUME', 'jobs', 'PREFETCH',
                                            '3'] }));
    }
    my @held = map { deliveries($_, 3) } @w;
    is(scalar @held, 6, "$tag: the consumers hold 6");

    # on each worker: a parked get and a parked RPC call over HTTP
    my @c = $t->worker_conns(2, path => '/kvmq/stats');
    my @r = $t->worker_conns(2, path => '/kvmq/stats');
    is(scalar(@c) + scalar(@r), 4, "$tag: connections to both workers");
    send_post($_, '/kvmq/queues/empty/get?wait=60000') for @c;
    send_post($_, '/kvmq/rpc/svc?timeout=60000', 'call') for @r;

    # and RPC calls over WebSocket
    my @rw = (ws(), ws());
    $_->send_text(json_encode({ id => 1, cmd => ['RPC', 'svc', 'wcall',
                                                 'TIMEOUT', '60000'] }))
        for @rw;

    ok(eventually(sub { info('svc')->{ready} == 4 }),
       "$tag: 4 RPC requests queued");
    my $i = info('jobs');
    is_deeply([@$i{qw(ready unacked consumers)}], [0, 6, 2],
              "$tag: jobs before: 0 ready, 6 unacked, 2 consumers");

    if ($how eq 'reload') {
        ok($t->reload, "$tag: reload");

        # the old workers answer what is parked before they go
        for my $c (@c) {
            is(reply($c)->status, 204, "$tag: parked get answered 204");
        }
        for my $c (@r) {
            is(reply($c)->status, 504, "$tag: parked RPC answered 504");
        }
        for my $w (@rw) {
            my $raw = $w->recv_message(5) // '';
            my $m = eval { json_decode($raw) } // {};
            is(ref $m->{error} ? $m->{error}{error} : undef, 'TIMEOUT',
               "$tag: WS RPC answered TIMEOUT") or diag($raw);
        }
        for my $w (@w, @rw) {
            my ($code) = $w->recv_close(5 * $SLOW);
            is($code, 1012, "$tag: WebSocket closed with 1012");
        }

    } else {
        my @old = $t->worker_pids;
        kill 'KILL', @old;
        $t->allow_log(qr/exited on signal 9/);
        my %old = map { $_ => 1 } @old;
        ok(eventually(sub {
               my @n = grep { !$old{$_} } $t->worker_pids;
               return @n == 2;
           }), "$tag: two new workers");
    }

    $_->close for @c, @r, @w, @rw;

    # the deliveries are back, redelivered; nobody consumes
    ok(eventually(sub { info('jobs')->{unacked} == 0 }),
       "$tag: nothing unacked any more");
    $i = info('jobs');
    is_deeply([@$i{qw(ready unacked consumers)}], [6, 0, 0],
              "$tag: jobs after: 6 ready, 0 unacked, 0 consumers");
    my $got = J($t->http(POST => '/kvmq/queues/jobs/get?count=10&ack=auto'));
    is_deeply([sort map { $_->{body} } @$got], [map { "j$_" } 1 .. 6],
              "$tag: all six back");
    is(scalar(grep { $_->{redelivered} } @$got), 6,
       "$tag: as redelivered");

    # no gone waiter takes a message
    $i = info('empty');
    is_deeply([@$i{qw(ready unacked consumers)}], [0, 0, 0],
              "$tag: the parked gets left nothing");
    $t->http(POST => '/kvmq/queues/empty/messages', {}, 'e');
    $got = J($t->http(POST => '/kvmq/queues/empty/get?ack=auto'));
    is_deeply([map { $_->{body} } @$got], ['e'],
              "$tag: a publish after it is not swallowed");

    # the requests of the gone callers: a reply finds nobody
    $got = J($t->http(POST => '/kvmq/queues/svc/get?count=10&ack=auto'));
    is(scalar @$got, 4, "$tag: the 4 requests are in the queue");
    my @st;
    for my $m (@$got) {
        my $p = $m->{properties};
        push @st, $t->http(POST => "/kvmq/reply/$p->{reply_to}",
                           { 'X-Correlation-Id' => $p->{correlation_id} },
                           'late')->status;
    }
    is_deeply(\@st, [404, 404, 404, 404],
              "$tag: replies to the gone callers: 404");

    # the zone answers and holds what it held after the first round
    my $u;
    ok(eventually(sub { $u = used(); !defined $baseline || $u == $baseline }),
       "$tag: zone used $u" . (defined $baseline ? " = $baseline" : ''));
    $baseline //= $u;
}

$t->done;
