#!/usr/bin/perl

# Queue consumers, bindings and RPC on the WebSocket door (API.md
# "WebSocket"), four workers: CONSUME pushes deliveries, PREFETCH is
# never exceeded, round-robin among consumers, ACK/NACK [REQUEUE],
# CANCEL, a consumer killed with unacked messages (every message
# delivered again to another consumer, none lost, none duplicated after
# ack), BIND without a queue (an exclusive queue consumed for the
# connection, gone with it), RPC with its reply and TIMEOUT, 200
# concurrent RPC calls from 20 WebSocket connections and 20 HTTP callers,
# and the errors.

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

sub ws {
    my (%o) = @_;
    return Kvmq::WS->new($t, path => ($o{path} // '/kvmq/ws'));
}

# the reply to id; deliveries seen on the way are kept in $w->{d}
my $next_id = 0;
sub call {
    my ($w, @argv) = @_;
    my $id = ++$next_id;
    my $msg = '{"id":' . $id . ',"cmd":' . json_encode([map {"$_"} @argv])
            . '}';
    $w->send_text($msg);
    for (1 .. 1000) {
        my $m = $w->recv_message(5) // return undef;
        my $j = eval { json_decode($m) } // return { raw => $m };
        if (ref $j eq 'HASH' && ($j->{type} // '') =~ /^(delivery|cancel)$/)
        {
            push @{ $w->{d} }, $j;
            next;
        }
        return $j if defined $j->{id} && $j->{id} == $id;
    }
    return undef;
}

# deliveries: those already seen, then more until $n or the timeout
sub deliveries {
    my ($w, $n, $timeout) = @_;
    my @d = @{ delete $w->{d} // [] };
    my $deadline = time + ($timeout // 3);
    while (@d < $n && time < $deadline) {
        my $m = $w->recv_message($deadline - time) // last;
        my $j = eval { json_decode($m) } or next;
        push @d, $j if ($j->{type} // '') eq 'delivery';
    }
    return @d;
}

sub publish {
    my ($q, @bodies) = @_;
    $t->http(POST => "/kvmq/queues/$q/messages", {}, $_) for @bodies;
}

my ($r, @d);

# CONSUME: deliveries pushed, JSON booleans, ACK
$t->http(PUT => '/kvmq/queues/work');
my $w1 = ws();
is_deeply(call($w1, 'CONSUME', 'work'), { id => $next_id, result => 'OK' },
          'CONSUME: OK');
publish('work', qw(a b c));
@d = deliveries($w1, 3);
is_deeply([map { $_->{body} } @d], [qw(a b c)], 'three deliveries in order');
is($d[0]{queue}, 'work', 'delivery: queue');
is($d[0]{redelivered}, JSON::PP::false(), 'delivery: redelivered false');
ok($d[0]{tag} > 0, 'delivery: a tag');
is(call($w1, 'ACK', map { $_->{tag} } @d)->{result}, 3, 'ACK: 3');
is(call($w1, 'ACK', $d[0]{tag})->{error}{error}, 'PRECONDITION',
   'ACK of a settled tag');
is(J($t->get('/kvmq/queues/work'))->{unacked}, 0, 'nothing unacked');

# NACK REQUEUE: delivered again, redelivered
publish('work', 'n');
@d = deliveries($w1, 1);
is(call($w1, 'NACK', $d[0]{tag}, 'REQUEUE')->{result}, 1, 'NACK REQUEUE');
@d = deliveries($w1, 1);
is($d[0]{body}, 'n', 'the nacked message again');
is($d[0]{redelivered}, JSON::PP::true(), 'redelivered true');
is(call($w1, 'NACK', $d[0]{tag})->{result}, 1, 'NACK without REQUEUE');
sleep(0.2);
is(scalar deliveries($w1, 1, 0.3), 0, 'dropped: not delivered again');
is(J($t->get('/kvmq/queues/work'))->{ready}, 0, 'and not in the queue');

# CANCEL
is(call($w1, 'CANCEL', 'work')->{result}, 'OK', 'CANCEL');
publish('work', 'after');
is(scalar deliveries($w1, 1, 0.3), 0, 'no delivery after CANCEL');
is(J($t->get('/kvmq/queues/work'))->{ready}, 1, 'the message waits');
is(call($w1, 'CANCEL', 'work')->{error}{error}, 'NOTFOUND',
   'CANCEL again: NOTFOUND');
$t->http(DELETE => '/kvmq/queues/work/messages');

# PREFETCH is never exceeded
$t->http(PUT => '/kvmq/queues/pf');
publish('pf', 1 .. 10);
is(call($w1, 'CONSUME', 'pf', 'PREFETCH', 2)->{result}, 'OK',
   'CONSUME PREFETCH 2');
@d = deliveries($w1, 10, 0.5);
is(scalar @d, 2, 'two deliveries, no more');
call($w1, 'ACK', $d[0]{tag});
my @more = deliveries($w1, 10, 0.5);
is(scalar @more, 1, 'one ACK, one more');
is($more[0]{body}, 3, 'the next in order');
call($w1, 'ACK', $d[1]{tag}, $more[0]{tag});
my $max = 0;
my $got = 3;
while ($got < 10) {
    my @x = deliveries($w1, 2, 1);
    last unless @x;
    $max = @x if @x > $max;
    $got += @x;
    call($w1, 'ACK', map { $_->{tag} } @x);
}
is($got, 10, 'all ten delivered');
ok($max <= 2, 'never more than 2 unacked');
call($w1, 'CANCEL', 'pf');

# round-robin among consumers on different workers
$t->http(PUT => '/kvmq/queues/rr');
my @c = map { ws() } 1 .. 3;
call($_, 'CONSUME', 'rr', 'PREFETCH', 100) for @c;
publish('rr', 1 .. 9);
my @counts = map { scalar deliveries($_, 3, 2) } @c;
is_deeply(\@counts, [3, 3, 3], 'round-robin: three each');
$_->close for @c;

# a consumer killed with unacked messages: nothing lost, none duplicated
$t->http(PUT => '/kvmq/queues/kill');
my $victim = ws();
call($victim, 'CONSUME', 'kill', 'PREFETCH', 5);
publish('kill', map { "m$_" } 1 .. 10);
@d = deliveries($victim, 5);
is(scalar @d, 5, 'the victim holds 5 unacked');
CORE::close($victim->{sock});
undef $victim;
my $heir = ws();
call($heir, 'CONSUME', 'kill', 'PREFETCH', 3);
my (%seen, $redelivered, $dups);
($redelivered, $dups) = (0, 0);
for (1 .. 20) {
    my @x = deliveries($heir, 3, 1);
    last unless @x;
    for (@x) {
        $dups++ if $seen{ $_->{body} }++;
        $redelivered++ if $_->{redelivered};
    }
    call($heir, 'ACK', map { $_->{tag} } @x);
}
is_deeply([sort keys %seen], [sort map { "m$_" } 1 .. 10],
          'every message delivered to the other consumer');
is($dups, 0, 'none twice');
is($redelivered, 5, "the victim's five came redelivered");
$r = J($t->get('/kvmq/queues/kill'));
is("$r->{ready}/$r->{unacked}", '0/0', 'all acked, none left');
$heir->close;

# a worker killed (SIGKILL) with a consumer holding unacked messages: its
# successor releases them, another consumer gets them all redelivered
$t->http(PUT => '/kvmq/queues/crash');
my ($doomed, $dpid);
for (1 .. 20) {
    my $w = ws();
    my $pid = $w->header('x-pid');
    my $other = ws();
    if ($pid && $other->header('x-pid') && $other->header('x-pid') ne $pid) {
        ($doomed, $dpid) = ($w, $pid);
        $heir = $other;
        last;
    }
}
SKIP: {
    skip 'no two workers reached', 3 unless $doomed;

    call($doomed, 'CONSUME', 'crash', 'PREFETCH', 10);
    publish('crash', map { "k$_" } 1 .. 4);
    is(scalar deliveries($doomed, 4), 4, 'the doomed consumer holds 4');
    kill 'KILL', $dpid;
    $t->allow_log(qr/exited on signal 9/);
    sleep(1);
    call($heir, 'CONSUME', 'crash', 'PREFETCH', 10);
    my @x = deliveries($heir, 4, 5);
    is_deeply([sort map { $_->{body} } @x], [map { "k$_" } 1 .. 4],
              'all four delivered to the survivor');
    is(scalar(grep { $_->{redelivered} } @x), 4, 'as redelivered');
    call($heir, 'ACK', map { $_->{tag} } @x);
    $heir->close;
}

# the killed worker may have held $w1 too
$w1 = ws();

# BIND without a queue: an exclusive queue of the connection, consumed
$t->http(PUT => '/kvmq/exchanges/logs', {}, '{"type":"topic"}');
my $sub = ws();
$r = call($sub, 'BIND', 'logs', 'app.*');
like($r->{result}{queue}, qr/^amq\.gen/, 'BIND: a server-named queue');
my $own = $r->{result}{queue};
is(call($sub, 'BIND', 'logs', 'db.#')->{result}{queue}, $own,
   'a second BIND: the same queue');
is($t->http(PUT => "/kvmq/queues/$own")->status, 403,
   'another connection cannot use it');
$t->http(POST => '/kvmq/exchanges/logs/publish?routing_key=app.web', {},
         'l1');
$t->http(POST => '/kvmq/exchanges/logs/publish?routing_key=db.x.y', {},
         'l2');
$t->http(POST => '/kvmq/exchanges/logs/publish?routing_key=other', {}, 'no');
@d = deliveries($sub, 2);
is_deeply([map { $_->{body} } @d], [qw(l1 l2)], 'streamed by routing key');
is($d[0]{routing_key}, 'app.web', 'delivery: routing_key');
is($d[0]{exchange}, 'logs', 'delivery: exchange');
is(call($sub, 'UNBIND', 'logs', 'db.#')->{result}, 1, 'UNBIND');
is($t->http(POST => '/kvmq/exchanges/logs/publish?routing_key=db.z', {},
            'x')->body, '{"routed":0}', 'unbound');
is($t->get("/kvmq/queues/$own")->status, 200, 'the queue exists');
$sub->close;
sleep(0.2);
is($t->get("/kvmq/queues/$own")->status, 404,
   'exclusive queue gone with its connection');

# BIND to a named queue
$t->http(PUT => '/kvmq/queues/named');
is(call($w1, 'BIND', 'logs', 'x.#', 'named')->{result}{queue}, 'named',
   'BIND to a named queue');
is($t->http(POST => '/kvmq/exchanges/logs/publish?routing_key=x.y', {},
            'x')->body, '{"routed":1}', 'routed to it');

# RPC from WebSocket, served over HTTP
$t->http(PUT => '/kvmq/queues/svc');
my $caller = ws();
$caller->send_text('{"id":"r1","cmd":["RPC","svc","ping","TIMEOUT","3000"]}');
sleep(0.2);
my $req = J($t->http(POST => '/kvmq/queues/svc/get?ack=auto'))->[0];
is($req->{body}, 'ping', 'RPC: the request is in the queue');
is($t->http(POST => "/kvmq/reply/$req->{properties}{reply_to}",
            { 'X-Correlation-Id' => $req->{properties}{correlation_id} },
            'pong')->status, 202, 'reply: 202');
$r = eval { json_decode($caller->recv_message(3)) };
is_deeply($r, { id => 'r1', result => 'pong' }, 'RPC: the reply body');
$r = call($caller, 'RPC', 'svc', 'x', 'TIMEOUT', 200);
is($r->{error}{error}, 'TIMEOUT', 'RPC TIMEOUT');
is(call($caller, 'RPC', 'nope', 'x')->{error}{error}, 'NOTFOUND',
   'RPC to an absent queue');
$t->http(DELETE => '/kvmq/queues/svc/messages');

# 200 concurrent calls: 20 WebSocket connections and 20 HTTP callers, 5
# rounds, served by a WebSocket consumer answering over HTTP
my @wsc = map { ws() } 1 .. 20;
my @hc = map { $t->connect } 1 .. 20;
my $server = ws();
call($server, 'CONSUME', 'svc', 'NOACK');
my ($ok, $bad) = (0, 0);
for my $round (1 .. 5) {
    my $dl = time + 20;
    for my $i (0 .. 19) {
        $wsc[$i]->send_text(json_encode({ id => "$round-$i",
            cmd => ['RPC', 'svc', "w$round-$i", 'TIMEOUT', '10000'] }));
        $hc[$i]->send_all(Kvmq::Test::Conn::_build('POST',
            '/kvmq/rpc/svc?timeout=10000', {}, "h$round-$i"), $dl);
    }
    my $served = 0;
    while ($served < 40 && time < $dl) {
        my @x = deliveries($server, 40 - $served, 2);
        last unless @x;
        for my $x (@x) {
            my $p = $x->{properties};
            $t->http(POST => "/kvmq/reply/$p->{reply_to}",
                     { 'X-Correlation-Id' => $p->{correlation_id} },
                     "re:$x->{body}");
            $served++;
        }
    }
    for my $i (0 .. 19) {
        my $m = eval { json_decode($wsc[$i]->recv_message(10)) } // {};
        if (($m->{id} // '') eq "$round-$i"
            && ($m->{result} // '') eq "re:w$round-$i")
        {
            $ok++;
        } else {
            $bad++;
        }
        my $h = $hc[$i]->_response('POST', $dl);
        if ($h->{status} == 200 && $h->{body} eq "re:h$round-$i") {
            $ok++;
        } else {
            $bad++;
        }
    }
}
is($ok, 200, '200 concurrent RPC calls correlated');
is($bad, 0, 'none wrong or missing');

# errors
is(call($w1, 'CONSUME', 'nope')->{error}{error}, 'NOTFOUND',
   'CONSUME an absent queue');
call($w1, 'CONSUME', 'named');
is(call($w1, 'CONSUME', 'named')->{error}{error}, 'PRECONDITION',
   'CONSUME twice');
is(call($w1, 'ACK', 999999)->{error}{error}, 'PRECONDITION',
   'ACK of an unknown tag');
is(call($w1, 'ACK', 'x')->{error}{error}, 'BADREQ', 'ACK x');
is(call($w1, 'ACK')->{error}{error}, 'BADREQ', 'ACK without a tag');
is(call($w1, 'CONSUME', 'named', 'PREFETCH', -1)->{error}{error}, 'BADREQ',
   'PREFETCH -1');
is(call($w1, 'BIND', 'nope', 'k', 'named')->{error}{error}, 'NOTFOUND',
   'BIND to an absent exchange');
is(call($w1, 'UNBIND', 'logs', 'k')->{error}{error}, 'NOTFOUND',
   'UNBIND without an own queue');
is(call($w1, 'RPC', 'svc')->{error}{error}, 'BADREQ', 'RPC without body');
my $ro = ws(path => '/ro/ws');
is(call($ro, 'CONSUME', 'named')->{error}{error}, 'DENIED',
   'CONSUME on a read-only location');
is(call($ro, 'RPC', 'svc', 'x')->{error}{error}, 'DENIED',
   'RPC on a read-only location');

$t->done;
