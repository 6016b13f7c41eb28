#!/usr/bin/perl

# Pub/sub across four workers: PUBLISH and PUBSUB through /cmd, many
# subscribers and concurrent publishers spread over every worker (each
# message exactly once to every subscriber, in publish order per
# channel), 100 reloads under publishing traffic with subscribers
# resuming through them (no loss, zone memory not growing, counts right
# afterwards), and a worker killed with SIGKILL (its counts dropped).

use strict;
use warnings;

use POSIX qw(WNOHANG _exit);
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
    kvmq_zone main size=16m history=2000;
    server {
        listen 127.0.0.1:%%PORT%% reuseport;
        location /kvmq/ {
            kvmq_api main;
            kvmq_sse_ping 1s;
            add_header X-Pid $pid always;
        }
    }
}
EOF

my $SLOW = $Kvmq::Test::SLOW;

$t->allow_log(qr/exited on signal 9/);

sub sse { return Kvmq::SSE->new($t, @_); }

sub numsub {
    my (@ch) = @_;
    my $j = $t->cmd('PUBSUB', 'NUMSUB', @ch)->json // {};
    return @ch == 1 ? $j->{$ch[0]} : $j;
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

sub used {
    my $j = $t->get('/kvmq/stats')->json // {};
    return $j->{zone}{used};
}

sub stat_subs {
    my $j = $t->get('/kvmq/stats')->json // {};
    return $j->{pubsub}{subscribers};
}


###########################################################################
# PUBLISH and PUBSUB through /cmd

{
    is_deeply($t->cmd('PUBLISH', 'c1', 'x')->json, 0, 'PUBLISH: 0');
    is_deeply($t->cmd('PUBSUB', 'CHANNELS')->json, [], 'no active channel');
    is_deeply($t->cmd('PUBSUB', 'NUMPAT')->json, 0, 'NUMPAT 0');

    my @s = (sse('/kvmq/subscribe/c1'), sse('/kvmq/subscribe/c1'),
             sse('/kvmq/subscribe/c2'));
    is($_->status, 200, 'subscribed') for @s;

    numsub_is('c1', 2, 'NUMSUB c1: 2');
    is(stat_subs(), 3, '/stats: pubsub.subscribers 3');
    is_deeply(numsub('c1', 'c2', 'c3'), { c1 => 2, c2 => 1, c3 => 0 },
              'NUMSUB c1 c2 c3');
    is_deeply([sort @{$t->cmd('PUBSUB', 'CHANNELS')->json}], ['c1', 'c2'],
              'PUBSUB CHANNELS');
    is_deeply($t->cmd('PUBSUB', 'CHANNELS', '*2')->json, ['c2'],
              'PUBSUB CHANNELS *2');

    is_deeply($t->cmd('PUBLISH', 'c1', 'hello')->json, 2, 'PUBLISH c1: 2');
    my $r = $t->batch(['PUBLISH', 'c1', 'a'], ['PUBLISH', 'c2', 'b'],
                      ['PUBLISH', 'c1', 'c']);
    is($r->body, '[2,1,2]', 'a batch of PUBLISH');

    my @e = $s[0]->events(3, 3);
    is_deeply([map { "$_->{id}:$_->{data}" } @e], ['2:hello', '3:a', '4:c'],
              'the messages through /cmd, with their seq');
    @e = $s[2]->events(1, 3);
    is_deeply([map { "$_->{id}:$_->{data}" } @e], ['1:b'], 'c2 too');

    is($t->get('/kvmq/cmd/PUBLISH/c2/viaget')->body, '1',
       'GET /cmd/PUBLISH');
    is($t->cmd('PUBLISH', 'c1')->status, 400, 'PUBLISH arity: 400');
    is($t->cmd('PUBSUB', 'NOPE')->status, 400, 'PUBSUB NOPE: 400');

    $_->close for @s;
    numsub_is('c1', 0, 'closed: NUMSUB 0');
}


###########################################################################
# many subscribers and concurrent publishers on every worker

{
    my $per = 5;
    my @chans = ('alpha', 'beta', 'gamma');
    my $msgs = 60;             # per publisher per channel

    my $by = Kvmq::SSE::pinned_conns($t, $per + 1);
    ok($by, "$per subscribers + 1 publisher on each worker")
        or BAIL_OUT('workers not reachable');

    my (@subs, @pubconns);
    my $k = 0;
    for my $pid (sort keys %$by) {
        my @c = @{$by->{$pid}};
        push @pubconns, pop @c;
        for my $c (@c) {
            my $ch = $chans[$k++ % 3];
            my $s = sse("/kvmq/subscribe/$ch", conn => $c);
            push @subs, [$ch, $s];
        }
    }

    is(scalar(grep { $_->[1]->status == 200 } @subs), 4 * $per,
       4 * $per . ' subscribers up');

    my %want = map { my $c = $_; $c => scalar grep { $_->[0] eq $c } @subs }
               @chans;
    numsub_is($_, $want{$_}, "NUMSUB $_: $want{$_}") for @chans;

    # four publishers at once, one per worker
    my @kids;
    for my $p (0 .. 3) {
        my $pid = fork();
        die "fork: $!" unless defined $pid;
        if ($pid == 0) {
            my $c = $pubconns[$p];
            my $bad = 0;
            for my $i (1 .. $msgs) {
                for my $ch (@chans) {
                    my $r = $c->request('POST', "/kvmq/publish/$ch", [],
                                        "p$p.$i");
                    my $j = eval { json_decode($r->body) } // {};
                    $bad++ unless ($j->{receivers} // -1) == $want{$ch};
                }
            }
            _exit($bad > 255 ? 255 : $bad);
        }
        push @kids, $pid;
    }

    # read while they publish, so no socket buffer fills up
    my $total = 4 * $msgs;
    my %got;
    my $deadline = time + 30 * $SLOW;
    while (time < $deadline) {
        my $left = 0;
        for my $i (0 .. $#subs) {
            push @{$got{$i}}, $subs[$i][1]->events(0, 0);
            $left += $total - grep { $_->{type} eq 'message' } @{$got{$i}};
        }
        last unless $left;
        sleep 0.01;
    }

    my $fails = 0;
    for my $kid (@kids) {
        waitpid($kid, 0);
        $fails += $? >> 8;
    }
    is($fails, 0, 'every PUBLISH counted every subscriber on all workers');

    my ($ok_ids, $ok_data, $ok_order) = (0, 0, 0);
    for my $i (0 .. $#subs) {
        my @ev = grep { $_->{type} eq 'message' } @{$got{$i} // []};
        $ok_ids++ if join(',', map { $_->{id} } @ev)
                     eq join(',', 1 .. $total);

        my %seen = map { $_->{data} => 1 } @ev;
        $ok_data++ if keys(%seen) == $total && @ev == $total;

        # each publisher's messages in its own order
        my $in_order = 1;
        for my $p (0 .. 3) {
            my @n = map { /^p$p\.(\d+)$/ ? $1 : () } map { $_->{data} } @ev;
            $in_order = 0 unless join(',', @n) eq join(',', 1 .. $msgs);
        }
        $ok_order++ if $in_order;
    }

    is($ok_ids, scalar @subs,
       "every subscriber: seq 1..$total, no gap, no duplicate");
    is($ok_data, scalar @subs, 'every subscriber: every message once');
    is($ok_order, scalar @subs,
       "every subscriber: each publisher's messages in publish order");

    $_->[1]->close for @subs;
    $_->close for @pubconns;
    numsub_is($_, 0, "NUMSUB $_: 0 after closing") for @chans;
}


###########################################################################
# 100 reloads under publishing traffic

{
    # warm up: rings full, so that memory reaches its steady state
    for my $ch ('traffic', map { "other$_" } 0 .. 6) {
        my $body = $ch eq 'traffic' ? 'm0000' : 'o';
        my $r = $t->batch(map { ['PUBLISH', $ch, $body] } 1 .. 2100);
        is($r->status, 200, "warm-up: 2100 messages in $ch");
    }
    sleep 1;
    my $before = used();
    ok($before, "zone used before: $before");

    my $pub = fork();
    die "fork: $!" unless defined $pub;
    if ($pub == 0) {
        # about 400 messages a second until killed
        my $i = 0;
        for (;;) {
            $t->post('/kvmq/publish/traffic', sprintf('m%04d', ++$i % 10000));
            $t->post("/kvmq/publish/other" . ($i % 7), 'o');
            sleep 0.005;
        }
    }

    # a subscriber that resumes through every reload
    my $s = sse('/kvmq/subscribe/traffic',
                headers => ['Last-Event-ID' => 2100]);
    my @ev;
    my $reconnects = 0;
    my $reloads = 0;

    for my $n (1 .. 100) {
        $reloads++ if $t->reload;
        push @ev, $s->events(0, 0.02);
        if ($s->closed) {
            push @ev, $s->events(0, 0);
            my ($last) = grep { $_->{type} eq 'message' } reverse @ev;
            $s->close;
            $s = sse('/kvmq/subscribe/traffic',
                     headers => ['Last-Event-ID' => $last->{id}]);
            $reconnects++;
        }
    }

    is($reloads, 100, '100 reloads');
    ok($reconnects >= 50, "the subscriber reconnected $reconnects times");

    kill 'KILL', $pub;
    waitpid($pub, 0);

    # the last message published, then everything up to it
    $t->cmd('PUBLISH', 'traffic', 'end');
    my $until = time + 10 * $SLOW;
    while (time < $until && !grep { $_->{data} eq 'end' } @ev) {
        push @ev, $s->events(1, 0.5);
        last if $s->closed;
    }
    push @ev, $s->events(0, 1);
    $s->close;

    my @m = grep { $_->{type} eq 'message' } @ev;
    my @gaps = grep { $_->{type} eq 'gap' } @ev;
    is(scalar @gaps, 0, 'no gap event');
    my $ids = join(',', map { $_->{id} } @m);
    my $want = join(',', 2101 .. $m[-1]{id});
    ok($ids eq $want, 'resuming through 100 reloads: no loss, no duplicate ('
       . scalar(@m) . ' messages)');
    is($m[-1]{data}, 'end', 'up to the last one');

    # counts of all those generations are gone; the cron reclaims their
    # records: memory back where it was
    numsub_is('traffic', 0, 'no stale subscriber counted');
    is_deeply($t->cmd('PUBLISH', 'traffic', 'x')->json, 0,
              'PUBLISH: 0 receivers');

    my $after;
    my $deadline = time + 10 * $SLOW;
    while (time < $deadline) {
        $after = used();
        last if $after <= $before;
        sleep 0.2;
    }
    ok($after <= $before, "zone used after 100 reloads: $after "
                          . "(before: $before)");
    diag("zone used: before $before, after $after");

    my @n = map { sse('/kvmq/subscribe/traffic') } 1 .. 8;
    numsub_is('traffic', 8, 'new subscribers counted right');
    is_deeply($t->cmd('PUBLISH', 'traffic', 'y')->json, 8, 'PUBLISH: 8');
    $_->close for @n;
}


###########################################################################
# a worker killed with SIGKILL: its counts go

{
    my $by = Kvmq::SSE::pinned_conns($t, 3);
    ok($by, 'three connections on each worker');
    my @pids = sort keys %$by;
    my $victim = $pids[0];

    my (@mine, @others);
    for my $pid (@pids) {
        for my $c (@{$by->{$pid}}) {
            my $s = sse('/kvmq/subscribe/kill', conn => $c);
            push @{$pid == $victim ? \@mine : \@others}, $s;
        }
    }

    numsub_is('kill', 12, 'twelve subscribers, three per worker');

    kill 'KILL', $victim;

    my $deadline = time + 10 * $SLOW;
    while (time < $deadline) {
        my @w = $t->worker_pids;
        last if @w == 4 && !grep { $_ == $victim } @w;
        sleep 0.05;
    }

    numsub_is('kill', 9, 'the dead worker\'s three are not counted');
    is(stat_subs(), 9, '/stats: 9 subscribers');
    is_deeply($t->cmd('PUBLISH', 'kill', 'after')->json, 9, 'PUBLISH: 9');

    my $got = 0;
    for my $s (@others) {
        $got += grep { $_->{data} eq 'after' } $s->events(1, 3);
    }
    is($got, 9, 'and the nine get it');

    $_->pump(0.2) for @mine;
    is(scalar(grep { $_->closed } @mine), 3,
       'the dead worker\'s clients saw their connections end');

    $_->close for @mine, @others;
    numsub_is('kill', 0, 'all gone: 0');
}

$t->done;
