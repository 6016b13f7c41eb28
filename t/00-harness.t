#!/usr/bin/perl

# The test harness itself (t/lib/Kvmq/Test.pm), on a plain nginx config:
# start, HTTP helpers, keep-alive, workers, reload, nginx -t, log checks.

use strict;
use warnings;

use IO::Socket::INET;
use Test::More;
use Time::HiRes qw(time);

use lib 't/lib';
use Kvmq::Test qw(json_decode json_encode);

my $t = Kvmq::Test->new;

my $conf = <<'EOF';
worker_processes 2;

http {
    server {
        listen 127.0.0.1:%%PORT%%;

        add_header X-Pid $pid always;

        location = / { return 200 "hi"; }
        location = /hdr { return 200 "[$http_x_test]"; }
        location = /other { return 200 "port %%PORT_1%%"; }

        location /dav/ {
            root %%PREFIX%%/html;
            dav_methods PUT DELETE;
            client_max_body_size 1m;
            client_body_buffer_size 8k;
        }
    }

    server {
        listen 127.0.0.1:%%PORT_1%%;
        location / { return 204; }
    }
}
EOF

$t->write_file('html/dav/.keep', '');
chmod 0777, $t->prefix . '/html/dav';

$t->conf($conf)->run;

ok($t->master_pid, 'master running');
ok($t->wait_workers(2), 'two workers');
isnt($t->port(0), $t->port(1), 'distinct ports');

my $r = $t->get('/');
is($r->status, 200, 'GET status');
is($r->body, 'hi', 'GET body');
is($r->header('Content-Length'), 2, 'header lookup ignores case');

$r = $t->head('/');
is($r->status, 200, 'HEAD status');
is($r->body, '', 'HEAD has no body');

is($t->http('FOO', '/')->status, 200, 'arbitrary method');
is($t->get('/hdr', headers => ['X-Test' => 'abc'])->body, '[abc]',
   'custom header');
is($t->http('GET', '/', undef, undef, port => $t->port(1))->status, 204,
   'second port');
like($t->get('/other')->body, qr/^port \d+$/, '%%PORT_1%% expanded');

my $bin = join '', map { chr($_ % 256) } 0 .. 65535 * 2;
$r = $t->put('/dav/bin', $bin);
is($r->status, 201, 'PUT binary body (buffered to a temp file)');
$r = $t->get('/dav/bin');
ok($r->body eq $bin, 'binary body round trip');
is($t->delete('/dav/bin')->status, 204, 'DELETE');
is($t->get('/dav/bin')->status, 404, 'gone');

my $c = $t->connect;
is($c->request('GET', '/')->body, 'hi', 'keep-alive request 1');
is($c->request('HEAD', '/')->status, 200, 'keep-alive request 2');
is($c->request('GET', '/hdr', { 'X-Test' => 'k' })->body, '[k]',
   'keep-alive request 3');
$c->close;

like($t->raw("GET / HTTP/1.0\r\n\r\n"), qr{^HTTP/1\.1 200 .*\r\n\r\nhi$}s,
     'raw request');

my @conns = $t->worker_conns(2);
is(scalar @conns, 2, 'connections to two workers');
isnt($conns[0]{pid}, $conns[1]{pid}, 'different workers')
    if @conns == 2;
is($conns[$_]->request('GET', '/')->header('X-Pid'), $conns[$_]{pid},
   "connection $_ stays on its worker") for 0 .. $#conns;
$_->close for @conns;

# a server that never answers: the request ends by its timeout
my $mute = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                 Listen => 1, Proto => 'tcp');
my $start = time;
$r = $t->http('GET', '/', undef, undef, port => $mute->sockport,
              timeout => 1);
is($r->status, 0, 'no answer: status 0');
like($r->error, qr/timeout/, 'no answer: timeout');
cmp_ok(time - $start, '<', 3, 'timeout is bounded');
close $mute;

# reload: a new generation of workers, same ports
my @old = $t->worker_pids;
ok($t->reload, 'reload');
my %old = map { $_ => 1 } @old;
is(scalar(grep { $old{$_} } $t->worker_pids), 0, 'all workers new');
is($t->get('/')->body, 'hi', 'serves after reload');

(my $changed = $conf) =~ s/"hi"/"hello"/;
ok($t->reload(conf => $changed), 'reload with a new config');
is($t->get('/')->body, 'hello', 'new config in effect');

$t->allow_log(qr/unknown directive "bogus_directive"/);
ok(!$t->reload(conf => "bogus_directive on;\n$conf"),
   'reload with a bad config fails');
is($t->get('/')->body, 'hello', 'old config still serves');

# nginx -t
my ($rc, $out) = $t->test_config($conf);
is($rc, 0, 'nginx -t: good config');
like($out, qr/test is successful/, 'nginx -t: output');

($rc, $out) = $t->test_config("http { bogus_directive on; }");
isnt($rc, 0, 'nginx -t: bad config');
like($out, qr/unknown directive "bogus_directive"/, 'nginx -t: message');

# the log check itself, on a second (never started) harness object
my $t2 = Kvmq::Test->new;
$t2->write_file('error.log', join "\n",
    '2024/01/01 00:00:00 [notice] 1#1: signal 1 (SIGHUP) received',
    '2024/01/01 00:00:00 [alert] 1#1: worker process 2 exited on signal 11',
    '2024/01/01 00:00:00 [crit] 1#1: x',
    '2024/01/01 00:00:00 [error] 1#1: shared memory zone "z" was locked by 2',
    '2024/01/01 00:00:00 [info] 1#1: fine', '');
is(scalar($t2->bad_log_lines), 3, 'log check finds bad lines');
$t2->write_file('error.log', '');

is_deeply(json_decode(json_encode(['a', 1, undef, { b => [] }])),
          ['a', 1, undef, { b => [] }], 'json helpers');

$t->stop;
ok(!$t->master_pid || !kill(0, $t->master_pid), 'stopped');

$t->done;
