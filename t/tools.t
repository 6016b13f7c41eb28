#!/usr/bin/perl

# The client tools against a live nginx: kvmq cmd prints each reply type
# like redis-cli, --json, cmd - pipelines stdin, pub/sub in order, a sub
# that resumes across an nginx restart (stop + run on the same port)
# without losing a message, error exits (connection refused, HTTP error,
# timeout, usage), publish / consume / rpc / serve on queues, and short
# kvmq-bench cmd, fanout, queue (WS and HTTP producers) and rpc runs with
# 0 lost, and fanout with stalled subscribers that a small
# kvmq_ws_send_buffer gets closed (1008) while the others get every
# message.

use strict;
use warnings;

use IO::Socket::INET;
use POSIX qw(WNOHANG);
use Test::More;
use Time::HiRes qw(time sleep);

use lib 't/lib';
use Kvmq::Test;

my $TOOLS = $ENV{KVMQ_TOOLS_DIR} // "$Kvmq::Test::TOP/build/tools";
my $KVMQ = "$TOOLS/kvmq";
my $BENCH = "$TOOLS/kvmq-bench";

plan(skip_all => "tools not built: $KVMQ") unless -x $KVMQ && -x $BENCH;

my $t = Kvmq::Test->new->skip_unless_module;
$t->conf(<<'EOF')->run;
load_module %%MODULE%%;
worker_processes 2;

http {
    kvmq_zone main size=16m history=100;
    server {
        listen 127.0.0.1:%%PORT%% reuseport;
        location /kvmq/ { kvmq_api main; }
        location /slow/ { kvmq_api main; kvmq_ws_send_buffer 64k; }
    }
}
EOF

my $SLOW = $Kvmq::Test::SLOW;
my $URL = $t->url('/kvmq/');
my $n = 0;

# start a tool with stdin from a string; outputs into files of the prefix
sub start_tool {
    my ($stdin, @argv) = @_;
    $n++;
    my $p = $t->prefix;
    $t->write_file("tool$n.in", $stdin // '');
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDIN, '<', "$p/tool$n.in" or POSIX::_exit(127);
        open STDOUT, '>', "$p/tool$n.out" or POSIX::_exit(127);
        open STDERR, '>', "$p/tool$n.err" or POSIX::_exit(127);
        $ENV{KVMQ_URL} = $URL;
        { exec @argv; }
        POSIX::_exit(127);
    }
    return { pid => $pid, n => $n };
}

# wait for it: (exit status, stdout, stderr), status undef on timeout
sub finish {
    my ($h, $timeout) = @_;
    my $deadline = time + ($timeout // 10) * $SLOW;
    my $rc;
    while (time < $deadline) {
        if (waitpid($h->{pid}, WNOHANG) == $h->{pid}) {
            $rc = $? >> 8;
            last;
        }
        sleep 0.02;
    }
    unless (defined $rc) {
        kill 'KILL', $h->{pid};
        waitpid($h->{pid}, 0);
    }
    return ($rc, $t->read_file("tool$h->{n}.out"),
            $t->read_file("tool$h->{n}.err"));
}

sub tool {
    my ($stdin, @argv) = @_;
    return finish(start_tool($stdin, @argv));
}

sub kvmq { return tool(undef, $KVMQ, @_); }

sub out_is {
    my ($argv, $want, $name) = @_;
    my ($rc, $out, $err) = kvmq(@$argv);
    is($out, $want, $name);
    is($rc, 0, "$name: exit 0") or diag($err);
}

sub numsub {
    my ($ch, $want) = @_;
    my $deadline = time + 10 * $SLOW;
    while (time < $deadline) {
        my $r = $t->cmd('PUBSUB', 'NUMSUB', $ch);
        return 1 if $r->status == 200 && $r->json->{$ch} == $want;
        sleep 0.05;
    }
    return 0;
}


# --- cmd: each reply type ---

out_is(['cmd', 'SET', 'a', 'hello'], "OK\n", 'status');
out_is(['cmd', 'GET', 'a'], "\"hello\"\n", 'string');
out_is(['cmd', 'SET', 'q', "tab\there \"q\"\n"], "OK\n", 'odd bytes set');
out_is(['cmd', 'GET', 'q'], "\"tab\\there \\\"q\\\"\\n\"\n",
       'string escaped');
out_is(['cmd', 'GET', 'nope'], "(nil)\n", 'nil');
out_is(['cmd', 'INCR', 'n'], "(integer) 1\n", 'integer');
out_is(['cmd', 'RPUSH', 'l', 'x', 'y', 'z'], "(integer) 3\n", 'rpush');
out_is(['cmd', 'LRANGE', 'l', '0', '-1'], qq{1) "x"\n2) "y"\n3) "z"\n},
       'array');
out_is(['cmd', 'LRANGE', 'none', '0', '-1'], "(empty array)\n",
       'empty array');
out_is(['cmd', 'ZADD', 'z', '1.5', 'm', '2', 'n'], "(integer) 2\n", 'zadd');
out_is(['cmd', 'ZRANGE', 'z', '0', '-1', 'WITHSCORES'],
       qq{1) 1) "m"\n   2) (double) 1.5\n2) 1) "n"\n   2) (integer) 2\n},
       'nested arrays');
out_is(['cmd', 'HSET', 'h', 'f', 'v'], "(integer) 1\n", 'hset');
out_is(['cmd', 'HGETALL', 'h'], qq{1# "f" => "v"\n}, 'map');
out_is(['--json', 'cmd', 'LRANGE', 'l', '0', '1'], qq{["x","y"]\n},
       '--json before cmd');
out_is(['cmd', '--json', 'GET', 'nope'], "null\n", '--json after cmd');
out_is(['pub', 'nobody', 'hi'], "(integer) 0\n", 'pub');

{
    my ($rc, $out) = kvmq('cmd', 'NOSUCH', 'x');
    like($out, qr/^\(error\) BADREQ .+\n\z/, 'error reply');
    is($rc, 1, 'error reply: exit 1');

    ($rc, $out) = kvmq('cmd', '--json', 'NOSUCH');
    like($out, qr/^\{"error":"BADREQ","message":".*"\}\n\z/, 'error JSON');
    is($rc, 1, 'error JSON: exit 1');
}

# --- cmd -: pipelined over one WebSocket, replies in order ---

{
    my $in = join('', map { "INCR p\n" } 1 .. 200)
           . "\nSET s \"two words\" \n GET s\nSET t 'it''s'\nGET t\n"
           . "NOSUCH\nGET p\n";
    my ($rc, $out) = tool($in, $KVMQ, 'cmd', '-');
    my @l = split /\n/, $out;
    is(scalar(@l), 206, 'one line per command');
    is_deeply([@l[0 .. 199]], [map { "(integer) $_" } 1 .. 200],
              'pipelined replies in order');
    is($l[200], 'OK', 'quoted SET');
    is($l[201], '"two words"', 'double quotes group');
    is($l[203], '"its"', 'single quotes group');
    like($l[204], qr/^\(error\) BADREQ/, 'error in the pipeline');
    is($l[205], '"200"', 'then the rest');
    is($rc, 1, 'exit 1 when a reply is an error');

    ($rc, $out) = tool("SET x \"open\n", $KVMQ, 'cmd', '-');
    is($rc, 2, 'unbalanced quotes: exit 2');
}

# --- pub/sub ---

{
    my $s = start_tool(undef, $KVMQ, 'sub', 'news', '--count', '50');
    ok(numsub('news', 1), 'sub subscribed');
    my $bad = 0;
    for my $i (1 .. 50) {
        my ($rc, $out) = kvmq('pub', 'news', "m$i");
        $bad++ if $out ne "(integer) 1\n";
    }
    is($bad, 0, 'each pub reached the subscriber');
    my ($rc, $out) = finish($s);
    is($out, join('', map { "m$_\n" } 1 .. 50), 'sub: all, in order');
    is($rc, 0, 'sub --count: exit 0');

    $s = start_tool(undef, $KVMQ, 'sub', 'a1', 'a2', '--count', '2');
    ok(numsub('a2', 1), 'two channels');
    kvmq('pub', 'a2', 'x');
    kvmq('pub', 'a1', 'y z');
    ($rc, $out) = finish($s);
    is($out, "a2 x\na1 y z\n", 'channel names with several channels');

    $s = start_tool(undef, $KVMQ, 'psub', 'ev.*', '--count', '1');
    my $deadline = time + 10 * $SLOW;
    sleep 0.05 while time < $deadline
        && $t->cmd('PUBSUB', 'NUMPAT')->json != 1;
    kvmq('pub', 'ev.1', 'hello');
    ($rc, $out) = finish($s);
    is($out, "ev.1 hello\n", 'psub');

    $s = start_tool(undef, $KVMQ, 'sub', '--json', 'news', '--since', '48',
                    '--count', '2');
    ($rc, $out) = finish($s);
    my $f = '{"type":"message","channel":"news","pattern":null,'
          . '"data":"m%d","seq":%d}' . "\n";
    is($out, sprintf($f, 49, 49) . sprintf($f, 50, 50),
       'sub --since --json replays');
}

# --- sub resumes across a restart ---

{
    my $s = start_tool(undef, $KVMQ, 'sub', 'live', '--count', '12');
    ok(numsub('live', 1), 'subscribed before the restart');
    kvmq('pub', 'live', "r$_") for 1 .. 5;

    my $want = join('', map { "r$_\n" } 1 .. 5);
    my $deadline = time + 10 * $SLOW;
    sleep 0.02 while time < $deadline
        && $t->read_file("tool$s->{n}.out") ne $want;

    my $port = $t->port;
    $t->stop;
    $t->run;
    is($t->port, $port, 'same port');

    # published before the sub is back: the history holds them
    is($t->cmd('PUBLISH', 'live', "r$_")->status, 200, "r$_ published")
        for 6 .. 8;
    ok(numsub('live', 1), 'sub reconnected');
    kvmq('pub', 'live', "r$_") for 9 .. 12;

    my ($rc, $out, $err) = finish($s);
    is($out, join('', map { "r$_\n" } 1 .. 12), 'nothing lost, in order');
    is($rc, 0, 'resumed sub: exit 0');
    like($err, qr/reconnecting/, 'says it reconnects');
}

# --- queues: publish, consume, rpc, serve ---

{
    out_is(['cmd', 'Q.DECLARE', 'jobs'],
           qq{1# "queue" => "jobs"\n2# "created" => (integer) 1\n}
           . qq{3# "messages" => (integer) 0\n4# "consumers" => (integer) 0\n},
           'Q.DECLARE map');
    out_is(['publish', 'jobs', 'j1'], qq{1# "queued" => (integer) 1\n},
           'publish');
    out_is(['publish', '--persistent', 'jobs', 'j2'],
           qq{1# "queued" => (integer) 1\n}, 'publish --persistent');
    out_is(['publish', '--exchange', '', '--key', 'jobs', 'j3'],
           qq{1# "routed" => (integer) 1\n}, 'publish --exchange');
    out_is(['consume', '--ack', '--count', '2', 'jobs'], "j1\nj2\n",
           'consume --ack --count');
    my $info = $t->cmd('Q.INFO', 'jobs')->json;
    is("$info->{ready} $info->{unacked} $info->{acked}", '1 0 2',
       'two acked, one left');

    my ($rc, $out) = kvmq('consume', '--json', '--count', '1', 'jobs');
    like($out, qr/^\{"type":"delivery","queue":"jobs","tag":\d+,"body":"j3",/,
         'consume --json');
    $info = $t->cmd('Q.INFO', 'jobs')->json;
    is("$info->{ready} $info->{unacked}", '0 0', 'NOACK: settled');

    ($rc, $out) = kvmq('consume', 'nosuch');
    is($rc, 1, 'consume of an absent queue: exit 1');

    $t->cmd('Q.DECLARE', 'svc');
    my $srv = start_tool(undef, $KVMQ, 'serve', 'svc', '--', 'tr', 'a-z',
                         'A-Z');
    my $deadline = time + 10 * $SLOW;
    sleep 0.05 while time < $deadline
        && $t->cmd('Q.INFO', 'svc')->json->{consumers} != 1;
    out_is(['rpc', 'svc', 'hello rpc'], "HELLO RPC\n", 'rpc through serve');
    my $bad = 0;
    for my $i (1 .. 20) {
        my ($r, $o) = kvmq('rpc', 'svc', "call $i");
        $bad++ if $o ne "CALL $i\n";
    }
    is($bad, 0, '20 calls answered');
    kill 'TERM', $srv->{pid};
    finish($srv);

    $t->cmd('Q.DECLARE', 'idle');
    my $err;
    ($rc, $out, $err) = kvmq('rpc', '--timeout', '200', 'idle', 'x');
    is($rc, 4, 'rpc without a server: exit 4');
    like($out, qr/^\(error\) TIMEOUT/, 'rpc timeout: error');

    $t->cmd('Q.DECLARE', 'fails');
    $srv = start_tool(undef, $KVMQ, 'serve', 'fails', '--', 'sh', '-c',
                      'echo partial; exit 3');
    $deadline = time + 10 * $SLOW;
    sleep 0.05 while time < $deadline
        && $t->cmd('Q.INFO', 'fails')->json->{consumers} != 1;
    out_is(['rpc', 'fails', 'x'], "partial\n", 'failing command: its output');
    kill 'TERM', $srv->{pid};
    ($rc, $out, $err) = finish($srv);
    like($err, qr/sh exited with status 3/, 'serve reports the exit status');
}

# --- errors ---

{
    my $dead = Kvmq::Test::free_port();
    my ($rc, $out, $err) = kvmq('--url', "http://127.0.0.1:$dead/kvmq/",
                                'cmd', 'PING');
    is($rc, 3, 'connection refused: exit 3');
    is($err, "kvmq: cannot connect to 127.0.0.1:$dead: connection refused\n",
       'connection refused: message');

    ($rc, $out, $err) = kvmq('--url', $t->url('/nope/'), 'cmd', 'PING');
    is($rc, 3, 'HTTP error: exit 3');
    like($err,
        qr{^kvmq: 127\.0\.0\.1:\d+/nope/ws: HTTP error 404 Not Found$},
         'HTTP error: code and reason');

    ($rc, $out, $err) = kvmq('--url', "http://127.0.0.1:$dead/kvmq/",
                             'sub', 'x');
    is($rc, 3, 'sub: connection refused at first is an error');

    # a server that accepts and never answers
    my $mute = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                     LocalPort => 0, Listen => 5)
        or die "listen: $!";
    ($rc, $out, $err) = kvmq('--url', 'http://127.0.0.1:' . $mute->sockport
                             . '/kvmq/', '--timeout', '300', 'cmd', 'PING');
    is($rc, 4, 'timeout: exit 4');
    like($err, qr/no reply within 300 ms/, 'timeout: message');
    close $mute;

    ($rc, $out, $err) = kvmq();
    is($rc, 2, 'no command: exit 2');
    like($err, qr/^usage: kvmq/, 'no command: usage');

    ($rc, $out, $err) = kvmq('frob');
    is($rc, 2, 'unknown command: exit 2');

    ($rc, $out) = kvmq('--url', 'ftp://x/', 'cmd', 'PING');
    is($rc, 2, 'bad URL: exit 2');

    for my $c (qw(cmd sub psub pub publish consume rpc serve)) {
        ($rc, $out) = kvmq($c, '--help');
        is($rc, 0, "$c --help: exit 0");
        like($out, qr/^usage: kvmq $c/, "$c --help: usage");
    }
}

# --- kvmq-bench ---

{
    my ($rc, $out, $err) = tool(undef, $BENCH, '--url', $URL, 'cmd',
                                '-c', 3, '-n', 3000, '-P', 16,
                                '--command', 'INCR benchkey');
    is($rc, 0, 'bench cmd: exit 0') or diag($err);
    like($out, qr/3000 answered in .* commands\/s/, 'bench cmd: rate');
    like($out, qr/latency: p50 [\d.]+ ms, p90 [\d.]+ ms, p99 [\d.]+ ms, max/,
         'bench cmd: histogram');
    like($out, qr/errors 0, lost 0, out of order 0, connections lost 0/,
         'bench cmd: 0 lost');
    is($t->cmd('GET', 'benchkey')->json, '3000', 'every command ran once');

    ($rc, $out, $err) = tool(undef, $BENCH, '--url', $URL, 'fanout',
                             '-s', 20, '-C', 3, '-p', 2, '-m', 300,
                             '-b', 100);
    is($rc, 0, 'bench fanout: exit 0') or diag($err);
    # 20 subscribers on 3 channels (7, 7, 6) x 100 messages each
    like($out, qr/ 2000 deliveries in .* deliveries\/s/,
         'bench fanout: every delivery');
    like($out, qr/errors 0, lost 0, out of order 0, connections lost 0/,
         'bench fanout: 0 lost');

    ($rc, $out, $err) = tool(undef, $BENCH, '--url', $URL, 'queue',
                             '-c', 3, '-p', 2, '-m', 1000, '-f', 10);
    is($rc, 0, 'bench queue: exit 0') or diag($err);
    like($out, qr/ 1000 consumed in .* messages\/s/, 'bench queue: all');
    like($out, qr/errors 0, lost 0, out of order 0, connections lost 0/,
         'bench queue: 0 lost');
    my $q = $t->cmd('Q.INFO', 'kvmq-bench')->json;
    is("$q->{ready} $q->{unacked} $q->{acked}", '0 0 1000',
       'bench queue: every message acked');

    # the producers POST over keep-alive HTTP, the consumers stay on WS
    ($rc, $out, $err) = tool(undef, $BENCH, '--url', $URL, 'queue',
                             '-c', 2, '-p', 1, '-m', 1000, '--http');
    is($rc, 0, 'bench queue --http: exit 0') or diag($err);
    my $head = "queue: 2 consumers (prefetch 100, ack), 1 producers over "
               . "HTTP, 1000 messages of 64 bytes\n  1000 consumed in ";
    like($out, qr/\A\Q$head\E/,
         'bench queue --http: HTTP producers, all consumed');
    like($out, qr/\n  errors 0, lost 0, out of order 0, connections lost 0\n/,
         'bench queue --http: 0 lost');
    $q = $t->cmd('Q.INFO', 'kvmq-bench')->json;
    is("$q->{ready} $q->{unacked} $q->{acked}", '0 0 2000',
       'bench queue --http: every message acked (1000 more)');

    ($rc, $out, $err) = tool(undef, $BENCH, '--url', $URL, 'rpc',
                             '-c', 2, '-p', 4, '-w', 2, '-m', 400);
    is($rc, 0, 'bench rpc: exit 0') or diag($err);
    like($out, qr/ 400 answered in .* calls\/s/, 'bench rpc: all');
    like($out, qr/errors 0, lost 0, out of order 0, connections lost 0/,
         'bench rpc: 0 lost');
    like($out, qr/\n  client CPU \d+% \([\d.]+ s of [\d.]+ s\)\n/,
         'bench: client CPU');

    # 2 of 10 never read: 20000 deliveries of 180 bytes pass what the
    # socket buffers (some 256k) and 64k hold, so the server closes them;
    # the 8 others get all.  One publish in flight and few subscribers,
    # so that the others keep up on a loaded machine (a slow reader is a
    # slow reader, whatever the reason)
    ($rc, $out, $err) = tool(undef, $BENCH, '--url', $t->url('/slow/'),
                             'fanout', '-s', 10, '--stalled', 2,
                             '-m', 20000, '-b', 100, '-w', 1);
    is($rc, 0, 'bench stalled: exit 0') or diag($err);
    like($out, qr/ 160000 deliveries in .* deliveries\/s/,
         'bench stalled: every delivery to the others');
    like($out, qr/errors 0, lost 0, out of order 0, connections lost 0/,
         'bench stalled: 0 lost');
    my $line = "\n  stalled 2: closed by the server 2 (code 1008 x2), "
               . "not closed 0, unsettled 0\n";
    like($out, qr/\Q$line\E/, 'bench stalled: both closed with 1008');

    # a stalled one that the default buffer holds reads it all at the end
    ($rc, $out, $err) = tool(undef, $BENCH, '--url', $URL, 'fanout',
                             '-s', 5, '--stalled', 1, '-m', 100);
    is($rc, 0, 'bench stalled, not closed: exit 0') or diag($err);
    like($out, qr/ 400 deliveries in /, 'bench stalled, not closed: all');
    $line = "\n  stalled 1: closed by the server 0, not closed 1, "
            . "unsettled 0\n";
    like($out, qr/\Q$line\E/, 'bench stalled, not closed: report');

    ($rc, $out, $err) = tool(undef, $BENCH, '--url', $URL, 'fanout',
                             '-s', 2, '--stalled', 2);
    is($rc, 2, 'bench: --stalled of all: exit 2');

    ($rc, $out, $err) = tool(undef, $BENCH, '--url', $URL,
                             '--target', 'nchan', 'cmd');
    is($rc, 2, 'bench: nchan cmd: exit 2');
    like($err, qr/--target nchan runs fanout only/,
         'bench: nchan cmd: message');

    ($rc, $out, $err) = tool(undef, $BENCH, '--url', $URL, 'cmd',
                             '--target', 'redis');
    is($rc, 2, 'bench: unknown target: exit 2');

    my $dead = Kvmq::Test::free_port();
    ($rc, $out, $err) = tool(undef, $BENCH, '--url',
                             "http://127.0.0.1:$dead/kvmq/", 'cmd');
    is($rc, 3, 'bench: connection refused: exit 3');
    like($err, qr/connection refused/, 'bench: connection refused: message');
}

$t->done;
