#!/usr/bin/perl

# RPC over HTTP (API.md "RPC"): POST /rpc/{q}?timeout= publishes with a
# private reply_to and a fresh correlation_id and parks; a server that
# consumes q answers with POST /reply/{reply_to} + X-Correlation-Id
# (202); the caller gets the reply body raw with the replier's
# Content-Type.  504 TIMEOUT, 404 for a reply nobody waits for (late or
# unknown), 404 for an absent queue, and many concurrent callers on four
# workers each getting exactly its own reply.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time sleep);

use lib 't/lib';
use Kvmq::Test qw(json_decode json_encode);

my $t = Kvmq::Test->new->skip_unless_module;
$t->conf(<<'EOF')->run;
load_module %%MODULE%%;
worker_processes 4;

http {
    kvmq_zone main size=16m;
    server {
        listen 127.0.0.1:%%PORT%%;
        location /kvmq/ { kvmq_api main; add_header X-Pid $pid always; }
        location /ro/ { kvmq_api main; kvmq_readonly on; }
    }
}
EOF

sub J { my $r = shift; return eval { json_decode($r->{body}) }; }

sub err_is {
    my ($r, $status, $code, $name) = @_;
    is($r->{status}, $status, "$name: $status");
    is((J($r) // {})->{error}, $code, "$name: $code");
}

# serve every request waiting in q: reply "re:" . body
sub serve {
    my ($q, $max) = @_;
    my $n = 0;
    my $r = J($t->http(POST => "/kvmq/queues/$q/get?count=$max&ack=auto"));
    for my $d (@{ $r // [] }) {
        my $p = $d->{properties};
        my $res = $t->http(POST => "/kvmq/reply/$p->{reply_to}",
                           { 'X-Correlation-Id' => $p->{correlation_id},
                             'Content-Type' => 'text/x-answer' },
                           "re:$d->{body}");
        $n++ if $res->status == 202;
    }
    return $n;
}

$t->http(PUT => '/kvmq/queues/svc');

# one call: caller parked, server replies
my $c = $t->connect;
my $dl = time + 10;
$c->send_all(Kvmq::Test::Conn::_build('POST', '/kvmq/rpc/svc?timeout=3000',
                                      { 'Content-Type' => 'text/plain' },
                                      'ping'), $dl);
sleep(0.2);
my $req = J($t->http(POST => '/kvmq/queues/svc/get?ack=auto'))->[0];
is($req->{body}, 'ping', 'the request is in the queue');
like($req->{properties}{reply_to}, qr/^amq\.rpc\./, 'a private reply_to');
ok(length $req->{properties}{correlation_id}, 'a correlation_id');
is($req->{properties}{content_type}, 'text/plain', 'caller content type');
my $res = $t->http(POST => "/kvmq/reply/$req->{properties}{reply_to}",
                   { 'X-Correlation-Id' => $req->{properties}{correlation_id},
                     'Content-Type' => 'text/x-answer' }, 'pong');
is($res->status, 202, 'reply: 202');
my $r = $c->_response('POST', $dl);
is($r->{status}, 200, 'caller: 200');
is($r->{body}, 'pong', 'caller: the reply body, raw');
is($r->header('Content-Type'), 'text/x-answer',
   "caller: the replier's Content-Type");

# the address is gone once answered
err_is($t->http(POST => "/kvmq/reply/$req->{properties}{reply_to}",
                { 'X-Correlation-Id' => $req->{properties}{correlation_id} },
                'again'), 404, 'NOTFOUND', 'a second reply');

# a wrong correlation id
$c = $t->connect;
$c->send_all(Kvmq::Test::Conn::_build('POST', '/kvmq/rpc/svc?timeout=600',
                                      {}, 'x'), time + 10);
sleep(0.2);
$req = J($t->http(POST => '/kvmq/queues/svc/get?ack=auto'))->[0];
err_is($t->http(POST => "/kvmq/reply/$req->{properties}{reply_to}",
                { 'X-Correlation-Id' => 'not-it' }, 'x'),
       404, 'NOTFOUND', 'reply with another correlation id');

# timeout: 504, then the late reply is 404
$r = $c->_response('POST', time + 10);
err_is($r, 504, 'TIMEOUT', 'no reply in time');
err_is($t->http(POST => "/kvmq/reply/$req->{properties}{reply_to}",
                { 'X-Correlation-Id' => $req->{properties}{correlation_id} },
                'late'), 404, 'NOTFOUND', 'a late reply');

# a caller that goes away closes its address
$c = $t->connect;
$c->send_all(Kvmq::Test::Conn::_build('POST', '/kvmq/rpc/svc?timeout=5000',
                                      {}, 'bye'), time + 10);
sleep(0.2);
$c->close;
sleep(0.2);
$req = J($t->http(POST => '/kvmq/queues/svc/get?ack=auto'))->[0];
err_is($t->http(POST => "/kvmq/reply/$req->{properties}{reply_to}",
                { 'X-Correlation-Id' => $req->{properties}{correlation_id} },
                'x'), 404, 'NOTFOUND', 'reply to a caller that left');

# errors
err_is($t->http(POST => '/kvmq/rpc/nope', {}, 'x'), 404, 'NOTFOUND',
       'call to an absent queue');
err_is($t->http(POST => '/kvmq/rpc/svc?timeout=x', {}, 'x'), 400,
       'BADREQ', 'timeout=x');
err_is($t->http(POST => '/kvmq/reply/amq.rpc.nothing',
                { 'X-Correlation-Id' => '1' }, 'x'), 404, 'NOTFOUND',
       'reply to an unknown address');
err_is($t->http(POST => '/kvmq/reply/amq.rpc.nothing', {}, 'x'), 400,
       'BADREQ', 'reply without X-Correlation-Id');
err_is($t->http(GET => '/kvmq/rpc/svc'), 405, 'METHOD', 'GET /rpc');
err_is($t->http(POST => '/ro/rpc/svc', {}, 'x'), 403, 'DENIED',
       'call on a read-only location');
is(J($t->get('/kvmq/queues/svc'))->{ready}, 0, 'no request left queued');

# 100 concurrent HTTP callers (20 connections, 5 rounds) on 4 workers,
# served from another connection: each gets exactly its own reply
my @conns = map { $t->connect } 1 .. 20;
my ($ok, $bad) = (0, 0);
for my $round (1 .. 5) {
    $dl = time + 20;
    for my $i (0 .. $#conns) {
        $conns[$i]->send_all(Kvmq::Test::Conn::_build('POST',
            '/kvmq/rpc/svc?timeout=10000', {}, "r$round-c$i"), $dl);
    }
    my $served = 0;
    for (1 .. 100) {
        $served += serve('svc', 50);
        last if $served >= @conns;
        sleep(0.02);
    }
    for my $i (0 .. $#conns) {
        my $x = $conns[$i]->_response('POST', $dl);
        if ($x->{status} == 200 && $x->{body} eq "re:r$round-c$i") {
            $ok++;
        } else {
            $bad++;
        }
    }
}
is($ok, 100, '100 concurrent calls, each with its own reply');
is($bad, 0, 'no call got a wrong or no reply');

$t->done;
