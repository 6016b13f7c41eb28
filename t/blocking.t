#!/usr/bin/perl

# Blocking pops across four workers: BLPOP BRPOP BRPOPLPUSH BLMOVE
# BZPOPMIN BZPOPMAX over POST /cmd and WebSocket, and POST
# /list/{key}/pop?wait=MS.  Waiters parked on some workers are served by
# pushes on others, fast (no waiting for the 1 s safety tick), in FIFO
# order among the waiters of a key; timeouts answer null / 204; a client
# that leaves while parked consumes nothing; a reload answers what is
# parked; the errors of the new paths.

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
        listen 127.0.0.1:%%PORT%% reuseport;
        location /kvmq/ {
            kvmq_api main;
            kvmq_max_key 64;
            add_header X-Pid $pid always;
        }
        location /ro/ {
            kvmq_api main;
            kvmq_readonly on;
        }
    }
}
EOF

my $SLOW = $Kvmq::Test::SLOW;
my $JSON = ['Content-Type' => 'application/json'];

# kept-alive connections, one per worker, each knowing its worker
sub conns {
    my @c = $t->worker_conns(4, path => '/kvmq/stats');
    die "no connection to every worker\n" unless @c == 4;
    return @c;
}

# send a command on a connection without waiting for its reply
sub send_cmd {
    my ($c, @argv) = @_;
    return $c->send_all(Kvmq::Test::Conn::_build('POST', '/kvmq/cmd', $JSON,
                                                  json_encode(\@argv)));
}

sub send_post {
    my ($c, $path) = @_;
    return $c->send_all(Kvmq::Test::Conn::_build('POST', $path, [], ''));
}

sub reply {
    my ($c, $timeout) = @_;
    return $c->_response('POST', time + ($timeout // 5 * $SLOW));
}

# no reply within $s seconds (the request is parked)
sub parked {
    my ($c, $s) = @_;
    my $r = $c->_response('POST', time + ($s // 0.3));
    return !$r->{status};
}

sub cmd { return $t->cmd(@_)->json; }

# wait until the engine counts n waiters: BLPOP calls went in
sub settle { sleep 0.15 * $SLOW; }


###########################################################################
# non-blocking paths: data there, timeouts, batches

{
    cmd('DEL', 'k');
    my $r = $t->cmd('BLPOP', 'k', '0.1');
    is($r->status, 200, 'BLPOP timeout: 200');
    is($r->json, undef, 'BLPOP timeout: null');

    cmd('RPUSH', 'k', 'a', 'b', 'c');
    is_deeply(cmd('BLPOP', 'none', 'k', '1'), ['k', 'a'],
              'BLPOP: first non-empty key wins');
    is_deeply(cmd('BRPOP', 'k', '0'), ['k', 'c'], 'BRPOP: [key, value]');
    is_deeply(cmd('BRPOPLPUSH', 'k', 'd', '0'), 'b', 'BRPOPLPUSH: value');
    is_deeply(cmd('LRANGE', 'd', 0, -1), ['b'], 'moved');
    is_deeply(cmd('BLMOVE', 'd', 'd2', 'LEFT', 'RIGHT', '0'), 'b',
              'BLMOVE: value');
    is_deeply(cmd('EXISTS', 'd'), 0, 'source deleted with its last item');

    cmd('ZADD', 'z', 1, 'one', 2, 'two', 3, 'three');
    is_deeply(cmd('BZPOPMIN', 'nz', 'z', '0'), ['z', 'one', 1],
              'BZPOPMIN: [key, member, score]');
    is_deeply(cmd('BZPOPMAX', 'z', '0'), ['z', 'three', 3],
              'BZPOPMAX: [key, member, score]');

    my $t0 = time;
    is($t->cmd('BZPOPMIN', 'nz', '0.2')->json, undef, 'BZPOPMIN timeout');
    ok(time - $t0 >= 0.19, 'timed out after 0.2 s');

    # a batch is atomic (MULTI): blocking commands do not block there
    $t0 = time;
    my $b = $t->batch(['BLPOP', 'empty', '0'], ['RPUSH', 'empty', 'x'],
                      ['BLPOP', 'empty', '0'])->json;
    is_deeply($b, [undef, 1, ['empty', 'x']], 'batch: non-blocking');
    ok(time - $t0 < 1, 'batch did not wait');

    my $ws = Kvmq::WS->new($t, path => '/kvmq/ws');
    my $m = $ws->cmd(1, [['BLPOP', 'empty', '0'], ['LLEN', 'empty']]);
    is_deeply($m, { id => 1, result => [undef, 0] }, 'WS batch: nil');
    $ws->close;
}


###########################################################################
# errors

{
    cmd('SET', 'str', 'x');

    my $r = $t->cmd('BLPOP', 'k', 'abc');
    is($r->status, 400, 'bad timeout: 400');
    is($r->json->{error}, 'BADREQ', 'BADREQ');
    like($r->json->{message}, qr/timeout is not a float/, 'message');

    $r = $t->cmd('BZPOPMIN', 'k', '-1');
    is($r->status, 400, 'negative timeout: 400');
    like($r->json->{message}, qr/timeout is negative/, 'message');

    $r = $t->cmd('BLMOVE', 'a', 'b', 'UP', 'LEFT', '0');
    is($r->status, 400, 'BLMOVE bad direction: 400');

    $r = $t->cmd('BLPOP', 'k');
    is($r->status, 400, 'BLPOP arity: 400');

    $r = $t->cmd('BLPOP', 'str', '0');
    is($r->status, 409, 'BLPOP on a string: 409');
    is($r->json->{error}, 'WRONGTYPE', 'WRONGTYPE');

    $r = $t->cmd('BZPOPMAX', 'str', '0');
    is($r->status, 409, 'BZPOPMAX on a string: 409');

    $r = $t->cmd('BLPOP', 'x' x 65, '0');
    is($r->status, 413, 'key over kvmq_max_key: 413');

    $r = $t->post('/kvmq/list/' . ('x' x 65) . '/pop?wait=100', '');
    is($r->status, 413, 'REST pop key over kvmq_max_key: 413');

    $r = $t->http('POST', '/ro/cmd', $JSON, json_encode(['BLPOP', 'k', 0]));
    is($r->status, 403, 'read-only location: 403');

    $r = $t->post('/ro/list/k/pop?wait=100', '');
    is($r->status, 403, 'read-only REST pop: 403');

    $r = $t->post('/kvmq/list/k/pop?wait=-1', '');
    is($r->status, 400, 'REST pop bad wait: 400');

    $r = $t->post('/kvmq/list/str/pop?wait=100', '');
    is($r->status, 409, 'REST pop wait on a string: 409');

    my $ws = Kvmq::WS->new($t, path => '/kvmq/ws');
    my $m = $ws->cmd(2, ['BLPOP', 'k', 'nan']);
    is($m->{error}{error}, 'BADREQ', 'WS bad timeout: BADREQ')
        or diag explain $m;
    $m = $ws->cmd(3, ['BLPOP', 'str', '0']);
    is($m->{error}{error}, 'WRONGTYPE', 'WS WRONGTYPE') or diag explain $m;
    $m = $ws->cmd(4, ['BLPOP', 'x' x 65, '0']);
    is($m->{error}{error}, 'TOOLARGE', 'WS key too long') or diag explain $m;
    $ws->close;
}


###########################################################################
# cross-worker delivery, fast

{
    my @c = conns();
    cmd('DEL', 'q');

    send_cmd($c[0], 'BLPOP', 'q', '0');
    ok(parked($c[0]), 'BLPOP parked on worker 1');

    my $t0 = time;
    $c[1]->request('POST', '/kvmq/cmd', $JSON,
                   json_encode(['RPUSH', 'q', 'x']));
    my $r = reply($c[0]);
    my $dt = time - $t0;
    is_deeply($r->json, ['q', 'x'], 'served by a push on worker 2');
    ok($dt < 0.2, sprintf('within 200 ms (%.3f s)', $dt));
    isnt($c[0]{pid}, $c[1]{pid}, 'two workers');

    # the same over REST, count 2, from the tail
    send_post($c[2], '/kvmq/list/q/pop?wait=5000&count=2&end=right');
    ok(parked($c[2]), 'REST pop parked');
    $t0 = time;
    $c[3]->request('POST', '/kvmq/cmd', $JSON,
                   json_encode(['RPUSH', 'q', 'a', 'b', 'c']));
    $r = reply($c[2]);
    $dt = time - $t0;
    is($r->status, 200, 'REST pop served');
    is_deeply($r->json, ['c', 'b'], 'REST pop: LPOP-count reply');
    ok($dt < 0.2, sprintf('REST within 200 ms (%.3f s)', $dt));
    is_deeply(cmd('LRANGE', 'q', 0, -1), ['a'], 'rest left');

    # REST timeout: 204
    cmd('DEL', 'q');
    $t0 = time;
    $r = $t->post('/kvmq/list/q/pop?wait=200', '');
    is($r->status, 204, 'REST wait ends empty: 204');
    ok(time - $t0 >= 0.19, 'after the wait');

    $_->close for @c;
}


###########################################################################
# FIFO among waiters of one key, across workers

{
    my @c = conns();
    cmd('DEL', 'f');

    for my $i (0 .. 2) {
        send_cmd($c[$i], 'BLPOP', 'f', '0');
        settle();
    }

    ok(parked($c[0], 0.1), 'three waiters parked');

    $c[3]->request('POST', '/kvmq/cmd', $JSON,
                   json_encode(['RPUSH', 'f', 'a', 'b', 'c']));
    is_deeply(reply($c[0])->json, ['f', 'a'], 'first waiter: a');
    is_deeply(reply($c[1])->json, ['f', 'b'], 'second waiter: b');
    is_deeply(reply($c[2])->json, ['f', 'c'], 'third waiter: c');

    # one push at a time, waiters in the reverse worker order
    for my $i (reverse 0 .. 2) {
        send_cmd($c[$i], 'BRPOP', 'f', '0');
        settle();
    }

    for my $v (qw(x y z)) {
        $c[3]->request('POST', '/kvmq/cmd', $JSON,
                       json_encode(['LPUSH', 'f', $v]));
    }

    is_deeply(reply($c[2])->json, ['f', 'x'], 'oldest first: x');
    is_deeply(reply($c[1])->json, ['f', 'y'], 'then y');
    is_deeply(reply($c[0])->json, ['f', 'z'], 'then z');

    # a REST waiter and a BLPOP waiter share the line
    send_post($c[0], '/kvmq/list/f/pop?wait=5000');
    settle();
    send_cmd($c[1], 'BLPOP', 'f', '0');
    settle();
    $c[3]->request('POST', '/kvmq/cmd', $JSON,
                   json_encode(['RPUSH', 'f', 'r1', 'r2']));
    is_deeply(reply($c[0])->json, ['r1'], 'REST waiter first');
    is_deeply(reply($c[1])->json, ['f', 'r2'], 'BLPOP waiter second');

    # several keys: the first key that gets items serves the waiter
    send_cmd($c[0], 'BLPOP', 'm1', 'm2', '0');
    settle();
    $c[3]->request('POST', '/kvmq/cmd', $JSON,
                   json_encode(['RPUSH', 'm2', 'v']));
    is_deeply(reply($c[0])->json, ['m2', 'v'], 'BLPOP on two keys');

    $_->close for @c;
}


###########################################################################
# atomic moves and sorted sets, woken

{
    my @c = conns();
    cmd('DEL', 's', 'dst', 'z');

    send_cmd($c[0], 'BLMOVE', 's', 'dst', 'RIGHT', 'LEFT', '0');
    settle();
    send_cmd($c[1], 'BRPOPLPUSH', 's', 'dst', '0');
    settle();
    $c[2]->request('POST', '/kvmq/cmd', $JSON,
                   json_encode(['RPUSH', 's', 'one', 'two']));
    is_deeply(reply($c[0])->json, 'two', 'BLMOVE woken: value');
    is_deeply(reply($c[1])->json, 'one', 'BRPOPLPUSH woken: value');
    is_deeply(cmd('LRANGE', 'dst', 0, -1), ['one', 'two'],
              'both moved to dst');
    is_deeply(cmd('EXISTS', 's'), 0, 'source gone');

    # a waiter on dst is served by the move
    send_cmd($c[3], 'BLPOP', 'chain', '0');
    settle();
    send_cmd($c[0], 'BLMOVE', 'src2', 'chain', 'LEFT', 'LEFT', '0');
    settle();
    $c[1]->request('POST', '/kvmq/cmd', $JSON,
                   json_encode(['RPUSH', 'src2', 'hop']));
    is_deeply(reply($c[0])->json, 'hop', 'BLMOVE moved');
    is_deeply(reply($c[3])->json, ['chain', 'hop'],
              'the waiter of the destination got it');

    send_cmd($c[0], 'BZPOPMIN', 'z', '0');
    settle();
    send_cmd($c[1], 'BZPOPMAX', 'z', '0');
    settle();
    $c[2]->request('POST', '/kvmq/cmd', $JSON,
                   json_encode(['ZADD', 'z', 1, 'a', 2, 'b', 3, 'c']));
    is_deeply(reply($c[0])->json, ['z', 'a', 1], 'BZPOPMIN woken');
    is_deeply(reply($c[1])->json, ['z', 'c', 3], 'BZPOPMAX woken');
    is_deeply(cmd('ZRANGE', 'z', 0, -1), ['b'], 'one member left');

    $_->close for @c;
}


###########################################################################
# a client that leaves while parked consumes nothing

{
    my @c = conns();
    cmd('DEL', 'g');

    send_cmd($c[0], 'BLPOP', 'g', '0');
    settle();
    $c[0]->close;
    settle();
    send_cmd($c[1], 'BLPOP', 'g', '0');
    settle();
    $c[2]->request('POST', '/kvmq/cmd', $JSON,
                   json_encode(['RPUSH', 'g', 'only']));
    is_deeply(reply($c[1])->json, ['g', 'only'],
              'the next waiter is served');

    # gone without a trace: the item stays in the list
    send_cmd($c[1], 'BLPOP', 'g2', '0');
    send_post($c[3], '/kvmq/list/g2/pop?wait=60000');
    settle();
    $c[1]->close;
    $c[3]->close;
    $c[2]->request('POST', '/kvmq/cmd', $JSON,
                   json_encode(['RPUSH', 'g2', 'kept']));
    settle();
    is_deeply(cmd('LRANGE', 'g2', 0, -1), ['kept'], 'nothing consumed');

    # closed just before the push: same
    @c = conns();
    send_cmd($c[0], 'BLPOP', 'g3', '0');
    settle();
    $c[0]->close;
    $c[1]->request('POST', '/kvmq/cmd', $JSON,
                   json_encode(['RPUSH', 'g3', 'kept']));
    settle();
    is_deeply(cmd('LRANGE', 'g3', 0, -1), ['kept'], 'nothing consumed (2)');

    $_->close for @c;
}


###########################################################################
# WebSocket parking

{
    my $ws = Kvmq::WS->new($t, path => '/kvmq/ws');
    cmd('DEL', 'w');

    $ws->send_text(json_encode({ id => 7, cmd => ['BLPOP', 'w', '0'] }));
    settle();

    my $t0 = time;
    cmd('RPUSH', 'w', 'hi');
    my $m = json_decode($ws->recv_message // 'null');
    my $dt = time - $t0;
    is_deeply($m, { id => 7, result => ['w', 'hi'] }, 'WS BLPOP woken');
    ok($dt < 0.2, sprintf('WS within 200 ms (%.3f s)', $dt));

    # the next message waits for the parked one: replies stay in order
    $ws->send_text(json_encode({ id => 8, cmd => ['BZPOPMIN', 'wz', '0.2'] }));
    $ws->send_text(json_encode({ id => 9, cmd => ['PING'] }));
    $m = json_decode($ws->recv_message // 'null');
    is_deeply($m, { id => 8, result => undef }, 'WS timeout: null');
    $m = json_decode($ws->recv_message // 'null');
    is($m->{id}, 9, 'then the next message');

    # a WebSocket client that leaves consumes nothing
    $ws->send_text(json_encode({ id => 10, cmd => ['BLPOP', 'w2', '0'] }));
    settle();
    CORE::close($ws->{sock});
    $ws->{sock} = undef;
    settle();
    cmd('RPUSH', 'w2', 'kept');
    settle();
    is_deeply(cmd('LRANGE', 'w2', 0, -1), ['kept'],
              'WS: nothing consumed');
}


###########################################################################
# a reload answers what is parked

{
    my @c = conns();
    my $ws = Kvmq::WS->new($t, path => '/kvmq/ws');
    cmd('DEL', 'rl');

    send_cmd($c[0], 'BLPOP', 'rl', '0');
    send_post($c[1], '/kvmq/list/rl/pop?wait=60000');
    $ws->send_text(json_encode({ id => 1, cmd => ['BRPOP', 'rl', '0'] }));
    settle();

    ok($t->reload, 'reload');

    my $r = reply($c[0]);
    is($r->status, 200, 'parked BLPOP answered');
    is($r->json, undef, 'with null');
    $r = reply($c[1]);
    is($r->status, 204, 'parked REST pop answered with 204');
    my $m = json_decode($ws->recv_message // 'null');
    is_deeply($m, { id => 1, result => undef }, 'WS BRPOP answered: null');
    my ($code) = $ws->recv_close(5 * $SLOW);
    is($code, 1012, 'then 1012');

    # blocking still works with the new workers
    @c = conns();
    send_cmd($c[0], 'BLPOP', 'rl', '0');
    settle();
    $c[1]->request('POST', '/kvmq/cmd', $JSON,
                   json_encode(['RPUSH', 'rl', 'new']));
    is_deeply(reply($c[0])->json, ['rl', 'new'], 'served after the reload');
    $_->close for @c;
}

$t->done;
