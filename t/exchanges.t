#!/usr/bin/perl

# The /exchanges REST routes (API.md "Exchanges"): declare (201, 200,
# 412), list, get, delete; bindings; publish with {"routed": N} through
# direct, fanout, topic (the matching table RabbitMQ documents: "#"
# alone, "#.a", "a.#", "a.#.b", "*.a", "a.*.#", empty words, keys
# without dots) and headers (x-match all/any) exchanges and the default
# exchange (path /exchanges/default); the errors of the routes.

use strict;
use warnings;

use Test::More;

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
        location /kvmq/ { kvmq_api main; }
        location /ro/ { kvmq_api main; kvmq_readonly on; }
    }
}
EOF

sub J { my $r = shift; return eval { json_decode($r->{body}) }; }

sub err_is {
    my ($r, $status, $code, $name) = @_;
    is($r->status, $status, "$name: $status");
    is((J($r) // {})->{error}, $code, "$name: $code");
}

sub drain {
    my ($q) = @_;
    my $r = J($t->http(POST => "/kvmq/queues/$q/get?count=100&ack=auto"));
    return [map { $_->{body} } @{ $r // [] }];
}

sub publish {
    my ($x, $key, $body, $h) = @_;
    return $t->http(POST => "/kvmq/exchanges/$x/publish?routing_key=$key",
                    $h // {}, $body);
}

my $r;

# declare, list, get, delete
$r = $t->http(PUT => '/kvmq/exchanges/logs', {}, '{"type":"fanout"}');
is($r->status, 201, 'PUT a new exchange: 201');
is(J($r)->{created}, JSON::PP::true(), 'created: true');
is($t->http(PUT => '/kvmq/exchanges/logs', {}, '{"type":"fanout"}')->status,
   200, 'same: 200');
err_is($t->http(PUT => '/kvmq/exchanges/logs', {}, '{"type":"topic"}'),
       412, 'PRECONDITION', 'another type');
err_is($t->http(PUT => '/kvmq/exchanges/logs', {},
                '{"type":"fanout","durable":true}'),
       412, 'PRECONDITION', 'another durability');
err_is($t->http(PUT => '/kvmq/exchanges/bad', {}, '{"type":"nope"}'),
       400, 'BADREQ', 'unknown type');
err_is($t->http(PUT => '/kvmq/exchanges/bad', {}, '{"colour":"red"}'),
       400, 'BADREQ', 'unknown option');
$r = J($t->get('/kvmq/exchanges/logs'));
is($r->{type}, 'fanout', 'GET: type');
is($r->{durable}, JSON::PP::false(), 'GET: durable is a JSON false');
err_is($t->get('/kvmq/exchanges/none'), 404, 'NOTFOUND', 'GET of none');
$r = J($t->get('/kvmq/exchanges'));
ok((grep { $_->{name} eq 'logs' } @$r), 'list has it');

# fanout
$t->http(PUT => "/kvmq/queues/$_") for qw(f1 f2);
for my $q (qw(f1 f2)) {
    $r = $t->http(POST => '/kvmq/exchanges/logs/bindings', {},
                  json_encode({ queue => $q }));
    is($r->status, 201, "bind $q: 201");
}
is($t->http(POST => '/kvmq/exchanges/logs/bindings', {},
            '{"queue":"f1"}')->body, '{"bound":false}', 'bound again: false');
$r = publish('logs', 'any', 'hello');
is($r->status, 200, 'publish: 200');
is($r->body, '{"routed":2}', 'fanout: routed 2');
is_deeply([drain('f1'), drain('f2')], [['hello'], ['hello']],
          'both got it');
$r = $t->http(DELETE => '/kvmq/exchanges/logs/bindings', {},
              '{"queue":"f2"}');
is($r->body, '{"unbound":true}', 'unbind');
is(publish('logs', '', 'x')->body, '{"routed":1}', 'routed 1 after unbind');
drain('f1');

# direct
$t->http(PUT => '/kvmq/exchanges/d', {}, '{"type":"direct"}');
$t->http(PUT => "/kvmq/queues/$_") for qw(err info);
$t->http(POST => '/kvmq/exchanges/d/bindings', {},
         '{"queue":"err","routing_key":"error"}');
$t->http(POST => '/kvmq/exchanges/d/bindings', {},
         '{"queue":"info","routing_key":"info"}');
$t->http(POST => '/kvmq/exchanges/d/bindings', {},
         '{"queue":"info","routing_key":"error"}');
is(publish('d', 'error', 'e1')->body, '{"routed":2}', 'direct: two queues');
is(publish('d', 'info', 'i1')->body, '{"routed":1}', 'direct: one');
is(publish('d', 'debug', 'x')->body, '{"routed":0}', 'direct: none');
is_deeply(drain('err'), ['e1'], 'err got error');
is_deeply(drain('info'), ['e1', 'i1'], 'info got both');

# topic: the table
$t->http(PUT => '/kvmq/exchanges/t', {}, '{"type":"topic"}');
my @patterns = ('#', '#.a', 'a.#', 'a.#.b', '*.a', 'a.*.#', 'a..b', 'a',
                '*', 'a.*');
my %qname;
my $i = 0;
for my $p (@patterns) {
    my $q = 'tq' . $i++;
    $qname{$p} = $q;
    $t->http(PUT => "/kvmq/queues/$q");
    $t->http(POST => '/kvmq/exchanges/t/bindings', {},
             json_encode({ queue => $q, routing_key => $p }));
}
my %table = (
    'a'       => ['#', '#.a', 'a.#', 'a', '*'],
    'a.b'     => ['#', 'a.#', 'a.#.b', 'a.*.#', 'a.*'],
    'x.a'     => ['#', '#.a', '*.a'],
    'a.x.b'   => ['#', 'a.#', 'a.#.b', 'a.*.#'],
    'a..b'    => ['#', 'a.#', 'a.#.b', 'a.*.#', 'a..b'],
    ''        => ['#'],          # zero words, as RabbitMQ splits it
    'b'       => ['#', '*'],
    'a.a'     => ['#', '#.a', 'a.#', '*.a', 'a.*.#', 'a.*'],
    'x.y.a'   => ['#', '#.a'],
);
for my $key (sort keys %table) {
    $r = publish('t', $key, "k:$key");
    my @want = sort @{ $table{$key} };
    is(J($r)->{routed}, scalar @want, "topic '$key': routed count");
    my @got;
    for my $p (@patterns) {
        push @got, $p if @{ drain($qname{$p}) };
    }
    is_deeply([sort @got], \@want, "topic '$key': the patterns that match");
}

# headers
$t->http(PUT => '/kvmq/exchanges/h', {}, '{"type":"headers"}');
$t->http(PUT => "/kvmq/queues/$_") for qw(hall hany);
$t->http(POST => '/kvmq/exchanges/h/bindings', {},
         json_encode({ queue => 'hall', arguments =>
             { 'x-match' => 'all', format => 'pdf', type => 'report' } }));
$t->http(POST => '/kvmq/exchanges/h/bindings', {},
         json_encode({ queue => 'hany', arguments =>
             { 'x-match' => 'any', format => 'pdf', type => 'report' } }));
is(publish('h', '', 'both', { 'X-Header-format' => 'pdf',
                              'X-Header-type' => 'report' })->body,
   '{"routed":2}', 'headers: all and any');
is(publish('h', '', 'one', { 'X-Header-format' => 'pdf' })->body,
   '{"routed":1}', 'headers: any only');
is_deeply(drain('hall'), ['both'], 'x-match all');
is_deeply(drain('hany'), ['both', 'one'], 'x-match any');

# the default exchange
$r = publish('default', 'err', 'direct to a queue');
is($r->body, '{"routed":1}', 'default exchange routes by queue name');
is_deeply(drain('err'), ['direct to a queue'], 'the queue got it');
is(publish('default', 'nope', 'x')->body, '{"routed":0}',
   'default exchange: no such queue, routed 0');

# reject-publish through an exchange
$t->http(PUT => '/kvmq/queues/full', {},
         '{"max_length":1,"overflow":"reject-publish"}');
$t->http(POST => '/kvmq/exchanges/logs/bindings', {}, '{"queue":"full"}');
publish('logs', '', 'fits');
err_is(publish('logs', '', 'no room'), 507, 'QUEUEFULL',
       'publish into a full reject-publish queue');
is_deeply(drain('f1'), ['fits', 'no room'], 'the other queue kept it');

# delete
$r = $t->http(DELETE => '/kvmq/exchanges/d');
is($r->body, '{"deleted":true}', 'delete');
err_is($t->http(DELETE => '/kvmq/exchanges/d'), 404, 'NOTFOUND',
       'delete again');
err_is(publish('d', 'error', 'x'), 404, 'NOTFOUND', 'publish to none');

# errors
err_is($t->http(POST => '/kvmq/exchanges/t/bindings', {}, '{}'), 400,
       'BADREQ', 'binding without a queue');
err_is($t->http(POST => '/kvmq/exchanges/t/bindings', {},
                '{"queue":"nope"}'), 404, 'NOTFOUND', 'bind absent queue');
err_is($t->http(POST => '/kvmq/exchanges/t/bindings', {},
                '{"queue":"f1","arguments":[1]}'), 400, 'BADREQ',
       'arguments not an object');
err_is($t->http(GET => '/kvmq/exchanges/t/publish'), 405, 'METHOD',
       'GET publish');
err_is($t->http(PUT => '/kvmq/exchanges/t/bindings'), 405, 'METHOD',
       'PUT bindings');
err_is($t->http(POST => '/kvmq/exchanges'), 405, 'METHOD',
       'POST /exchanges');
err_is($t->http(PUT => '/ro/exchanges/new', {}, '{"type":"direct"}'), 403,
       'DENIED', 'declare on a read-only location');
err_is($t->http(POST => '/ro/exchanges/t/publish', {}, 'x'), 403,
       'DENIED', 'publish on a read-only location');

$t->done;
