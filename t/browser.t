#!/usr/bin/perl

# A real browser: headless Chromium (Debian's /usr/bin/chromium, driven by
# playwright-core from t/browser/node_modules, see t/browser/run.mjs) loads
# a page served by the test nginx that subscribes to one channel with a
# WebSocket (/kvmq/ws, SUBSCRIBE) and with an EventSource
# (/kvmq/subscribe/{channel}).  Messages published over HTTP arrive on
# both, all of them, in order.  Then a reload ends the event stream
# server-side (retry: 1000) and EventSource reconnects by itself with
# Last-Event-ID, getting what was published while it was away.
#
# Skipped (TAP skip_all) only when chromium, node or playwright-core is
# missing (`make deps` installs them) or chromium does not start.

use strict;
use warnings;

use IO::Select;
use POSIX qw(WNOHANG);
use Test::More;
use Time::HiRes qw(time sleep);

use lib 't/lib';
use Kvmq::Test qw(json_decode json_encode);

my $t = Kvmq::Test->new->skip_unless_module;
my $SLOW = $Kvmq::Test::SLOW;

my $CHROMIUM = $ENV{KVMQ_CHROMIUM} // '/usr/bin/chromium';
my $DRIVER_DIR = "$Kvmq::Test::TOP/t/browser";

{
    my $why;
    if (!-x $CHROMIUM) {
        $why = "no $CHROMIUM (make deps installs Debian's chromium)";
    } elsif (!grep { -x "$_/node" } split /:/, $ENV{PATH} // '') {
        $why = 'no node in PATH (make deps installs nodejs)';
    } elsif (!-f "$DRIVER_DIR/node_modules/playwright-core/package.json") {
        $why = 'no t/browser/node_modules/playwright-core (make deps)';
    }
    if ($why) {
        plan(skip_all => $why);
        exit 0;
    }
}

my $CH = 'browser-news';

$t->write_file('www/page/index.html', <<'EOF');
<!doctype html>
<meta charset="utf-8">
<title>kvmq browser test</title>
<link rel="icon" href="data:,">
<script>
const ch = new URLSearchParams(location.search).get('ch');
window.ws = { open: false, replies: [], messages: [], other: [], close: null };
window.sse = { opens: 0, errors: 0, messages: [], gaps: [], log: [] };

const w = new WebSocket('ws://' + location.host + '/kvmq/ws');
w.onopen = () => {
    ws.open = true;
    w.send(JSON.stringify({ id: 1, cmd: ['SUBSCRIBE', ch] }));
};
w.onmessage = (e) => {
    let m;
    try { m = JSON.parse(e.data); } catch (x) { ws.other.push(e.data); return; }
    if (m.type === 'message') {
        ws.messages.push({ channel: m.channel, data: m.data, seq: m.seq });
    } else if ('id' in m) {
        ws.replies.push(m);
    } else {
        ws.other.push(m);
    }
};
w.onclose = (e) => { ws.close = { code: e.code, clean: e.wasClean }; };

const es = new EventSource('/kvmq/subscribe/' + encodeURIComponent(ch));
const t0 = performance.now();
const ev = (what) =>
    sse.log.push(what + ' ' + Math.round(performance.now() - t0));
es.onopen = () => { sse.opens++; ev('open'); };
es.onerror = () => { sse.errors++; ev('error ' + es.readyState); };
es.onmessage = (e) => {
    sse.messages.push({ id: e.lastEventId, data: e.data });
    ev('message ' + e.lastEventId);
};
es.addEventListener('gap', (e) => { sse.gaps.push(e.data); });
window.es = es;
</script>
<p>kvmq browser test</p>
EOF

$t->conf(<<'EOF')->run;
load_module %%MODULE%%;
worker_processes 2;

http {
    kvmq_zone main size=4m history=100;
    log_format lei '$request_uri lei=$http_last_event_id';
    server {
        listen 127.0.0.1:%%PORT%%;
        location /kvmq/ {
            kvmq_api main;
            access_log %%PREFIX%%/kvmq-access.log lei;
        }
        location /page/ {
            root %%PREFIX%%/www;
        }
    }
}
EOF


###########################################################################
# the driver: node t/browser/run.mjs, one JSON line per request

my ($drv_pid, $chrome_pid, $to_drv, $from_drv);
my $buf = '';

sub kill_browser {
    if ($chrome_pid) {
        kill 'KILL', -$chrome_pid, $chrome_pid;
        $chrome_pid = undef;
    }
    if ($drv_pid) {
        # stdin closed: the driver closes what is left and exits
        close $to_drv if $to_drv;
        $to_drv = undef;
        my $deadline = time + 5;
        while (time < $deadline && waitpid($drv_pid, WNOHANG) == 0) {
            sleep 0.05;
        }
        if (waitpid($drv_pid, WNOHANG) == 0) {
            kill 'KILL', $drv_pid;
            waitpid($drv_pid, 0);
        }
        $drv_pid = undef;
    }
}

END { kill_browser(); }

sub drv_line {
    my ($timeout) = @_;
    my $deadline = time + $timeout;
    my $sel = IO::Select->new($from_drv);
    while (1) {
        if ($buf =~ s/^(.*)\n//) {
            my $l = $1;
            my $j = eval { json_decode($l) };
            return $j if ref $j eq 'HASH';
            diag("driver: $l");
            next;
        }
        my $left = $deadline - time;
        return { error => 'no answer from the driver' } if $left <= 0;
        next unless $sel->can_read($left);
        my $n = sysread($from_drv, $buf, 65536, length $buf);
        return { error => 'driver exited' } unless $n;
    }
}

# evaluate a JavaScript expression in the page
sub js {
    my ($expr) = @_;
    $expr =~ s/\s*\n\s*/ /g;
    return { error => 'no driver' } unless $to_drv;
    syswrite($to_drv, "$expr\n");
    return drv_line(10 * $SLOW);
}

sub js_val {
    my $r = js(@_);
    diag("page: $r->{error}") if exists $r->{error};
    return $r->{result};
}

# wait until a JavaScript expression is true in the page
sub js_wait {
    my ($expr, $timeout) = @_;
    my $deadline = time + $timeout * $SLOW;
    while (1) {
        my $r = js("!!($expr)");
        return 1 if $r->{result};
        return 0 if exists $r->{error} || time > $deadline;
        sleep 0.05;
    }
}

{
    pipe(my $c_in, my $p_out) or die "pipe: $!";
    pipe(my $p_in, my $c_out) or die "pipe: $!";
    my $profile = $t->prefix . '/chromium-profile';
    my $url = $t->url("/page/index.html?ch=$CH");

    $drv_pid = fork() // die "fork: $!";
    if ($drv_pid == 0) {
        close $p_out;
        close $p_in;
        open STDIN, '<&', $c_in or POSIX::_exit(127);
        open STDOUT, '>&', $c_out or POSIX::_exit(127);
        open STDERR, '>', $t->prefix . '/driver.log';
        $ENV{KVMQ_BROWSER_TIMEOUT} = 120 * $SLOW;
        $ENV{KVMQ_CHROMIUM} = $CHROMIUM;
        $ENV{PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD} = 1;
        $ENV{HOME} = $t->prefix;
        chdir $DRIVER_DIR or POSIX::_exit(127);
        exec 'node', 'run.mjs', $url, $profile or POSIX::_exit(127);
    }
    close $c_in;
    close $c_out;
    $to_drv = $p_out;
    $from_drv = $p_in;
    $to_drv->autoflush(1);

    my $r = drv_line(60 * $SLOW);
    if (!$r->{ready}) {
        my $why = $r->{launch_error} // $r->{error} // 'no answer';
        my $log = $t->read_file('driver.log');
        kill_browser();
        if (exists $r->{launch_error}) {
            diag($log) if $log ne '';
            plan(skip_all => "chromium does not start: $why");
            exit 0;
        }
        fail("the driver loads the page: $why");
        diag($log);
        $t->done;
        exit 1;
    }
    $chrome_pid = $r->{pid};
    ok(1, "chromium loaded the page ($r->{ua})");
}

is($t->get('/page/index.html')->status, 200, 'the page is served');


###########################################################################
# both subscriptions up, then 5 messages

sub numsub {
    my $j = $t->cmd('PUBSUB', 'NUMSUB', $CH)->json // {};
    return $j->{$CH} // -1;
}

sub numsub_wait {
    my ($n) = @_;
    my $deadline = time + 10 * $SLOW;
    while (time < $deadline) {
        return 1 if numsub() == $n;
        sleep 0.02;
    }
    return 0;
}

ok(js_wait('ws.replies.length >= 1 && sse.opens >= 1', 10),
   'WebSocket subscribed, EventSource open');
is_deeply(js_val('ws.replies'),
          [{ id => 1, result => [['subscribe', $CH, 1]] }],
          'SUBSCRIBE reply');
ok(numsub_wait(2), 'NUMSUB: the page holds two subscriptions');

my @sent = ('hello 1', "two \x{e9}l\x{e8}ves", 'line a', '{"json":true}',
            'last <5>');
my @pub;
for my $m (@sent) {
    my $body = $m;
    utf8::encode($body);
    push @pub, $t->post("/kvmq/publish/$CH", $body)->json;
}
is_deeply([map { $_->{receivers} } @pub], [2, 2, 2, 2, 2],
          'each PUBLISH: 2 receivers');
is_deeply([map { $_->{seq} } @pub], [1 .. 5], 'seq 1..5');

ok(js_wait('ws.messages.length >= 5 && sse.messages.length >= 5', 10),
   'the page got 5 messages on both');

is_deeply(js_val('ws.messages'),
          [map { { channel => $CH, data => $sent[$_ - 1], seq => $_ } }
               1 .. 5],
          'WebSocket: all 5, in order, with seq');
is_deeply(js_val('sse.messages'),
          [map { { id => "$_", data => $sent[$_ - 1] } } 1 .. 5],
          'EventSource: all 5, in order, id = seq');
is_deeply(js_val('[sse.gaps, sse.errors, ws.other]'), [[], 0, []],
          'no gap, no error, nothing else');


###########################################################################
# the server ends the stream (reload: retry: 1000); EventSource comes back
# by itself with Last-Event-ID and gets what was published meanwhile

ok($t->reload, 'reload: the old workers end the streams');
ok(numsub_wait(0), 'NUMSUB 0: the page is away');

my @more = map { "meanwhile $_" } 6 .. 8;
my @away = map { $t->post("/kvmq/publish/$CH", $_)->json } @more;
is_deeply([map { $_->{seq} } @away], [6 .. 8], 'published 6..8');
is_deeply([map { $_->{receivers} } @away], [0, 0, 0],
          'with nobody subscribed: only the history keeps them');

ok(js_wait('sse.opens >= 2 && sse.messages.length >= 8', 10),
   'EventSource reopened by itself and caught up');
ok(numsub_wait(1), 'NUMSUB 1: the EventSource is back');

push @sent, @more;
is_deeply(js_val('sse.messages'),
          [map { { id => "$_", data => $sent[$_ - 1] } } 1 .. 8],
          'EventSource: 1..8, no loss, no duplicate');
# A reconnect may first reach an old worker that is finishing (over a
# kept-alive connection): that one answers retry: 1000 at once and the
# browser comes back once more; the assertions allow it.
is_deeply(js_val('[sse.opens >= 2 ? 1 : 0, sse.errors >= 1 ? 1 : 0,
                   sse.gaps, es.readyState]'),
          [1, 1, [], 1], 'reconnected, no gap, open')
    or diag(explain(js_val('sse.log')));
is(js_val('ws.close && ws.close.code'), 1012,
   'the WebSocket was closed with 1012 (service restart)');

my $r = $t->post("/kvmq/publish/$CH", 'live 9')->json;
is($r->{receivers}, 1, 'live again: 1 receiver');
ok(js_wait('sse.messages.length >= 9', 5), 'and it arrives');
is_deeply(js_val('sse.messages[8]'), { id => '9', data => 'live 9' },
          'id 9');

is_deeply(js_val('log'), [], 'no console output, no page error');

kill_browser();
$t->stop;

# the access log: the first stream without Last-Event-ID, every
# reconnect with Last-Event-ID: 5 (nothing arrived in between)
my @lines = grep { m{^/kvmq/subscribe/} }
            split /\n/, $t->read_file('kvmq-access.log');
my $first = shift @lines;
is($first, "/kvmq/subscribe/$CH lei=-", 'first stream: no Last-Event-ID');
ok(@lines >= 1 && !grep({ $_ ne "/kvmq/subscribe/$CH lei=5" } @lines),
   'EventSource reconnected with Last-Event-ID: 5 (' . scalar(@lines)
   . ' time(s))') or diag(explain(\@lines));

$t->done;
