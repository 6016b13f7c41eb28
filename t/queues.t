#!/usr/bin/perl

# The /queues REST routes (API.md "Queues"): declare (201, 200, 412),
# info and list, publish with property headers, get with count, ack=auto,
# visibility and a long-poll woken by a publish on another worker, ack,
# nack with requeue (redelivered) and without (dead-lettered), TTL and a
# dead-letter chain, max_length with reject-publish (507 QUEUEFULL) and
# drop-head, purge, delete, and every error code of the routes.

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
    kvmq_zone main size=8m;
    server {
        listen 127.0.0.1:%%PORT%%;
        location /kvmq/ {
            kvmq_api main;
            add_header X-Pid $pid always;
        }
        location /ro/ { kvmq_api main; kvmq_readonly on; }
        location /small/ { kvmq_api main; kvmq_max_key 16; kvmq_max_value 64; }
    }
}
EOF

sub J { my $r = shift; return eval { json_decode($r->{body}) }; }

sub err_is {
    my ($r, $status, $code, $name) = @_;
    is($r->status, $status, "$name: $status");
    is((J($r) // {})->{error}, $code, "$name: $code");
}

sub qget {
    my ($q, $args) = @_;
    return $t->http(POST => "/kvmq/queues/$q/get" . ($args // ''));
}

my $r;

# declare
$r = $t->http(PUT => '/kvmq/queues/jobs', {}, '{"durable":true}');
is($r->status, 201, 'PUT a new queue: 201');
is(J($r)->{created}, JSON::PP::true(), 'created is a JSON true');
is($r->header('Content-Type'), 'application/json', 'JSON reply');
$r = $t->http(PUT => '/kvmq/queues/jobs', {}, '{"durable":true}');
is($r->status, 200, 'same options: 200');
ok(!J($r)->{created}, 'created false');
err_is($t->http(PUT => '/kvmq/queues/jobs', {}, '{"durable":false}'),
       412, 'PRECONDITION', 'other options');
err_is($t->http(PUT => '/kvmq/queues/jobs', {}, '{"durable":'),
       400, 'BADREQ', 'malformed JSON');
err_is($t->http(PUT => '/kvmq/queues/x', {}, '[1]'),
       400, 'BADREQ', 'not an object');
err_is($t->http(PUT => '/kvmq/queues/x', {}, '{"bogus":1}'),
       400, 'BADREQ', 'unknown option');
is($t->http(PUT => '/kvmq/queues/plain')->status, 201,
   'PUT without a body: defaults');

# publish with properties
$r = $t->http(POST => '/kvmq/queues/jobs/messages',
              { 'X-Correlation-Id' => 'c1', 'X-Reply-To' => 'back',
                'X-Message-Id' => 'm1', 'X-Priority' => '3',
                'X-Persistent' => '1', 'Content-Type' => 'text/plain',
                'X-Header-Tenant' => 'acme' }, 'one');
is($r->status, 201, 'publish: 201');
is($r->body, '{"queued":true}', 'publish: {"queued":true}');
$t->http(POST => '/kvmq/queues/jobs/messages', {}, $_) for qw(two three);
err_is($t->http(POST => '/kvmq/queues/nope/messages', {}, 'x'),
       404, 'NOTFOUND', 'publish to an absent queue');

# info, list
$r = J($t->get('/kvmq/queues/jobs'));
is($r->{ready}, 3, 'info: ready 3');
is($r->{published}, 3, 'info: published 3');
is($r->{durable}, JSON::PP::true(), 'info: durable true');
err_is($t->get('/kvmq/queues/nope'), 404, 'NOTFOUND', 'info of none');
$r = J($t->get('/kvmq/queues'));
is_deeply([map { $_->{name} } @$r], [qw(jobs plain)], 'list by name');

# get (manual ack), properties, booleans
$r = qget('jobs');
is($r->status, 200, 'get: 200');
my $d = J($r)->[0];
is($d->{body}, 'one', 'get: FIFO head');
is($d->{redelivered}, JSON::PP::false(), 'redelivered is a JSON false');
is($d->{properties}{correlation_id}, 'c1', 'correlation_id');
is($d->{properties}{reply_to}, 'back', 'reply_to');
is($d->{properties}{message_id}, 'm1', 'message_id');
is($d->{properties}{content_type}, 'text/plain', 'content_type');
is($d->{properties}{priority}, 3, 'priority');
ok($d->{properties}{persistent}, 'persistent');
is_deeply($d->{properties}{headers}, { Tenant => 'acme' },
          'X-Header-<Name> is a message header')
    or diag explain $d->{properties};
my $t1 = $d->{tag};

# nack requeue: back at its place, redelivered
$r = $t->http(POST => '/kvmq/queues/jobs/nack', {},
              json_encode({ tags => [$t1], requeue => JSON::PP::true() }));
is($r->status, 200, 'nack: 200');
is(J($r)->{nacked}, 1, 'nack: 1 settled');
$r = J(qget('jobs', '?count=3'));
is(scalar @$r, 3, 'count=3: three');
is($r->[0]{body}, 'one', 'requeued at its original position');
is($r->[0]{redelivered}, JSON::PP::true(), 'redelivered: true');
is($r->[1]{redelivered}, JSON::PP::false(), 'the next one is fresh');

# ack
$r = $t->http(POST => '/kvmq/queues/jobs/ack', {},
              json_encode([map { $_->{tag} } @$r]));
is($r->status, 200, 'ack: 200');
is($r->body, '{"acked":3}', 'ack: 3');
err_is($t->http(POST => '/kvmq/queues/jobs/ack', {}, "[$t1]"),
       412, 'PRECONDITION', 'ack of a settled tag');
err_is($t->http(POST => '/kvmq/queues/jobs/ack', {}, '{"a":1}'),
       400, 'BADREQ', 'ack body not an array');
err_is($t->http(POST => '/kvmq/queues/jobs/nack', {}, '{"requeue":true}'),
       400, 'BADREQ', 'nack without tags');
is(J($t->get('/kvmq/queues/jobs'))->{unacked}, 0, 'nothing unacked');

# empty get without wait: 200 []
$r = qget('jobs');
is($r->status, 200, 'empty get: 200');
is($r->body, '[]', 'empty get: []');

# ack=auto
$t->http(POST => '/kvmq/queues/plain/messages', {}, 'a');
$r = J(qget('plain', '?ack=auto'));
is($r->[0]{body}, 'a', 'ack=auto: delivered');
is(J($t->get('/kvmq/queues/plain'))->{unacked}, 0, 'ack=auto: settled');
err_is(qget('plain', '?ack=maybe'), 400, 'BADREQ', 'ack=maybe');
err_is(qget('plain', '?count=x'), 400, 'BADREQ', 'count=x');
err_is(qget('nope'), 404, 'NOTFOUND', 'get from an absent queue');

# visibility: an unacked delivery comes back redelivered
$t->http(POST => '/kvmq/queues/plain/messages', {}, 'lease');
$r = J(qget('plain', '?visibility=200'));
is($r->[0]{body}, 'lease', 'visibility: got it');
is(qget('plain')->body, '[]', 'visibility: held meanwhile');
sleep(1.5);
$r = J(qget('plain', '?ack=auto'));
is($r->[0]{body}, 'lease', 'visibility passed: back');
is($r->[0]{redelivered}, JSON::PP::true(), 'visibility passed: redelivered');

# wait: 204 when it ends empty
my $t0 = time;
$r = qget('plain', '?wait=300');
is($r->status, 204, 'wait ends empty: 204');
ok(time - $t0 >= 0.25, 'wait: waited');

# wait: woken by a publish on another worker, well before the 1 s timer
my ($wa, $wb) = $t->worker_conns(2, path => '/kvmq/queues');
SKIP: {
    skip 'two workers not reached', 4 unless $wb;

    my ($el, $got);
    for my $round (1 .. 3) {
        my $dl = time + 10;
        $wa->send_all(Kvmq::Test::Conn::_build(
                'POST', '/kvmq/queues/plain/get?wait=5000&ack=auto', {}, ''),
            $dl);
        sleep(0.3);
        my $s = time;
        $wb->request('POST', '/kvmq/queues/plain/messages', {}, "w$round");
        $got = $wa->_response('POST', $dl);
        $el = time - $s;
    }
    is($got->{status}, 200, 'long-poll: 200');
    is(J($got)->[0]{body}, 'w3', 'long-poll: the message');
    ok($el < 0.2, sprintf('woken across workers in %.0f ms', $el * 1000));
    isnt($wa->{pid}, $wb->{pid}, 'publisher on another worker');
}

# a waiting client that goes away takes nothing with it
$t->http(PUT => '/kvmq/queues/gone');
my $gc = $t->connect;
$gc->send_all(Kvmq::Test::Conn::_build(
        'POST', '/kvmq/queues/gone/get?wait=5000&ack=auto', {}, ''),
    time + 5);
sleep(0.2);
$gc->close;
sleep(0.2);
$t->http(POST => '/kvmq/queues/gone/messages', {}, 'kept');
sleep(0.2);
is(J($t->get('/kvmq/queues/gone'))->{ready}, 1,
   'a gone waiter did not take the message');

# wait on a queue deleted meanwhile: 404
$t->http(PUT => '/kvmq/queues/doomed');
$gc = $t->connect;
$gc->send_all(Kvmq::Test::Conn::_build(
        'POST', '/kvmq/queues/doomed/get?wait=5000', {}, ''), time + 5);
sleep(0.2);
$t->http(DELETE => '/kvmq/queues/doomed');
$r = $gc->_response('POST', time + 5);
is($r->{status}, 404, 'the queue deleted while waiting: 404');

# TTL and a dead-letter chain: ttl queue -> dlx (fanout) -> dead queue
$t->http(PUT => '/kvmq/exchanges/dlx', {}, '{"type":"fanout"}');
$t->http(PUT => '/kvmq/queues/dead');
$t->http(POST => '/kvmq/exchanges/dlx/bindings', {}, '{"queue":"dead"}');
is($t->http(PUT => '/kvmq/queues/ttl', {},
            '{"message_ttl":100,"dead_letter_exchange":"dlx"}')->status,
   201, 'a queue with message_ttl and a DLX');
$t->http(POST => '/kvmq/queues/ttl/messages', {}, 'old');
$t->http(POST => '/kvmq/queues/ttl/messages', { 'X-Expiration' => 50000 },
         'queue ttl wins');
sleep(0.4);
$r = J(qget('ttl', '?count=5&ack=auto'));
is(scalar @$r, 0, 'expired messages are never delivered');
$r = J(qget('dead', '?count=5&ack=auto'));
is(scalar @$r, 2, 'both dead-lettered');
is($r->[0]{body}, 'old', 'dead-lettered in order');

# per-message X-Expiration
$t->http(PUT => '/kvmq/queues/px', {}, '{"dead_letter_exchange":"dlx"}');
$t->http(POST => '/kvmq/queues/px/messages', { 'X-Expiration' => 100 },
         'short');
$t->http(POST => '/kvmq/queues/px/messages', {}, 'long');
sleep(0.4);
$r = J(qget('px', '?count=5&ack=auto'));
is_deeply([map { $_->{body} } @$r], ['long'], 'X-Expiration expires one');
$r = J(qget('dead', '?count=5&ack=auto'));
is_deeply([map { $_->{body} } @$r], ['short'], 'and dead-letters it');

# nack requeue=false dead-letters (reason rejected)
$t->http(PUT => '/kvmq/queues/rej', {}, '{"dead_letter_exchange":"dlx"}');
$t->http(POST => '/kvmq/queues/rej/messages', {}, 'bad');
$r = J(qget('rej'));
$t->http(POST => '/kvmq/queues/rej/nack', {},
         json_encode({ tags => [$r->[0]{tag}],
                       requeue => JSON::PP::false() }));
$r = J(qget('dead', '?ack=auto'));
is($r->[0]{body}, 'bad', 'nack requeue=false: dead-lettered');
is(J($t->get('/kvmq/queues/rej'))->{ready}, 0, 'and gone from its queue');

# max_length with reject-publish
$t->http(PUT => '/kvmq/queues/full', {},
         '{"max_length":2,"overflow":"reject-publish"}');
$t->http(POST => '/kvmq/queues/full/messages', {}, $_) for 1, 2;
err_is($t->http(POST => '/kvmq/queues/full/messages', {}, '3'),
       507, 'QUEUEFULL', 'reject-publish');
is(J($t->get('/kvmq/queues/full'))->{ready}, 2, 'nothing stored');

# max_length with drop-head
$t->http(PUT => '/kvmq/queues/dh', {}, '{"max_length":2}');
$t->http(POST => '/kvmq/queues/dh/messages', {}, $_) for 1 .. 3;
$r = J(qget('dh', '?count=5&ack=auto'));
is_deeply([map { $_->{body} } @$r], [2, 3], 'drop-head drops the oldest');

# purge and delete
$r = $t->http(DELETE => '/kvmq/queues/full/messages');
is($r->body, '{"purged":2}', 'purge');
$r = $t->http(DELETE => '/kvmq/queues/full');
is($r->status, 200, 'delete: 200');
err_is($t->get('/kvmq/queues/full'), 404, 'NOTFOUND', 'deleted');
err_is($t->http(DELETE => '/kvmq/queues/full'), 404, 'NOTFOUND',
       'delete again');

# methods, read-only, limits
err_is($t->http(PATCH => '/kvmq/queues/jobs'), 405, 'METHOD', 'PATCH');
err_is($t->http(GET => '/kvmq/queues/jobs/get'), 405, 'METHOD', 'GET get');
err_is($t->http(PUT => '/kvmq/queues/jobs/messages'), 405, 'METHOD',
       'PUT messages');
err_is($t->http(POST => '/kvmq/queues'), 405, 'METHOD', 'POST /queues');
err_is($t->http(POST => '/kvmq/queues/jobs/what'), 404, 'NOTFOUND',
       'unknown route');
err_is($t->http(POST => '/ro/queues/jobs/messages', {}, 'x'), 403,
       'DENIED', 'publish on a read-only location');
err_is($t->http(PUT => '/ro/queues/new'), 403, 'DENIED',
       'declare on a read-only location');
is($t->http(GET => '/ro/queues/jobs')->status, 200, 'read-only: info ok');
err_is($t->http(PUT => '/small/queues/' . ('q' x 17)), 413, 'TOOLARGE',
       'name over kvmq_max_key');
err_is($t->http(POST => '/small/queues/jobs/messages', {}, 'x' x 65), 413,
       'TOOLARGE', 'body over kvmq_max_value');

$t->done;
