#!/usr/bin/perl
# Authenticate Perl's Authen::SASL client against a sasl-sample-server.
#
# Usage:
#   perl-auth.pl --server-bin PATH --db FILE --mech MECH --user USER --realm REALM --password PW
#                [--authid-with-realm] [--client-realm R] [--authzid ID] [--decode-password]
#                [--server-fqdn NAME] [--client-hostname NAME] [--service NAME]
#                [--timeout SECONDS] [--verbose]
#   (an empty REALM means: no -u for the server, realm = server FQDN)
#
# Exit status and the single line printed on stdout (as cyrus-auth.py):
#   0  ACCEPTED ...  the server printed "Negotiation complete"
#   1  REJECTED ...  the server ended the negotiation with an error; its reason
#                    is quoted ("authentication failure", ...)
#   2  ERROR ...     the harness could not run the exchange (missing binary or
#                    DB file, mechanism not in Authen::SASL::Perl, timeout, the
#                    client library gave up before the server decided)
#
# How it works
#   The server is --server-bin (our `sasldb` through a symlink named
#   sasl-sample-server, or Debian's /usr/sbin/sasl-sample-server to compare),
#   run through IPC::Open2 as
#       stdbuf -oL SERVER -m MECH -s smtp -d localhost [-u REALM]
#   with SASL_CONF_PATH pointing at a private temporary directory holding
#   sample.conf (`sasldb_path: FILE`); its stderr goes to a file there, read
#   for the "<prog>: Performing SASL negotiation: <reason> (<reason>)" line.
#   The client is the library as an SMTP client such as Net::SMTP or swaks
#   (swaks uses it for DIGEST-MD5) drives it:
#       Authen::SASL->new(mechanism => MECH,
#                         callback => { user => AUTHID, pass => PW,
#                                       [authname => AUTHZID], [realm => R] })
#                   ->client_new('smtp', HOST)
#   client_start's result becomes the initial response when it is defined and
#   not empty ("C: " base64(MECH NUL initial)), else "C: " base64(MECH); every
#   later "S: <base64>" goes through client_step and its result comes back as
#   "C: <base64>". The pure-Perl plugin is forced (`use Authen::SASL qw(Perl)`),
#   so the result does not depend on whether Authen::SASL::XS or ::Cyrus (which
#   would run Cyrus's own client library) happens to be installed.
#
# Authen::SASL 2.16 (Debian 12, libauthen-sasl-perl 2.1600-3)
#   * Authen::SASL::Perl implements PLAIN, LOGIN, CRAM-MD5, DIGEST-MD5 (and
#     ANONYMOUS, EXTERNAL, GSSAPI). It has NO SCRAM: --mech SCRAM-SHA-1 or
#     SCRAM-SHA-256 ends with ERROR "... has no SCRAM-SHA-1".
#   * LOGIN sends no initial response; it answers the 1st challenge with the
#     user and the 2nd with the password, whatever they say.
#   * DIGEST-MD5: username = the `user` callback as given; realm = the `realm`
#     callback if set, else the first realm the server offered; digest-uri =
#     smtp/HOST; charset echoed from the server; qop chosen from the server's.
#     It hashes the user, realm and password as the Perl strings it is given:
#     byte strings (what swaks and Net::SMTP pass from a command line or a
#     config file) are hashed as UTF-8 bytes, NOT converted to ISO-8859-1 as
#     RFC 2831 asks, so for a password such as "pässwörd" the digest can be
#     checked only against the plaintext, not against a stored DIGEST-MD5
#     hash. --decode-password passes the password as a decoded character
#     string instead (what a program that decodes its input does): Digest::MD5
#     then hashes characters up to U+00FF as ISO-8859-1, which is RFC 2831's
#     rule, and dies on characters beyond (ERROR).
#     Logging in as `alice@Example.COM` sends username="alice@Example.COM"
#     realm="<offered realm>": only the plaintext can check that digest.
#     `--user alice --client-realm Example.COM` (the `realm` callback; swaks
#     --auth-extra realm=...) sends the record's own authid and realm.
#
# Every wait is bounded by --timeout (default 20 s) overall (alarm); the
# server is killed and the temporary directory removed on every exit path,
# including SIGTERM/SIGINT/SIGHUP.

use strict;
use warnings;
use Getopt::Long qw(GetOptionsFromArray);
use IPC::Open2 qw(open2);
use IO::Handle;
use File::Temp qw(tempdir);
use File::Path qw(remove_tree);
use File::Spec;
use MIME::Base64 qw(encode_base64 decode_base64);
use Encode qw(decode);
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(time);
use Authen::SASL qw(Perl);

use constant { EXIT_ACCEPTED => 0, EXIT_REJECTED => 1, EXIT_ERROR => 2 };

my %opt = (
    realm             => undef,
    'server-fqdn'     => 'localhost',
    service           => 'smtp',
    timeout           => 20,
);
my ($server_pid, $server_in, $server_out, $tmpdir, $deadline, $authid);

sub outcome { die { code => $_[0], line => $_[1] } }
sub trace {
    return unless $opt{verbose};
    my ($who, $data) = @_;
    (my $shown = $data) =~ s/([^\x20-\x7e])/sprintf("\\x%02x", ord $1)/ge;
    printf STDERR "%-11s %s\n", $who, $shown;
}

sub usage {
    print STDERR "usage: perl-auth.pl --server-bin PATH --db FILE --mech MECH --user USER --realm REALM "
      . "--password PW [--authid-with-realm] [--client-realm R] [--authzid ID] [--decode-password] "
      . "[--server-fqdn NAME] [--client-hostname NAME] [--service NAME] [--timeout S] [--verbose]\n";
    exit EXIT_ERROR;
}

sub server_stderr {
    return '' unless $tmpdir && open(my $fh, '<', "$tmpdir/server.err");
    local $/;
    my $text = <$fh>;
    close $fh;
    return defined $text ? $text : '';
}

sub cleanup {
    if ($server_in) { close $server_in; undef $server_in }
    if ($server_pid) {
        kill 'KILL', $server_pid if waitpid($server_pid, WNOHANG) == 0;
        waitpid($server_pid, 0);
        undef $server_pid;
    }
    if ($server_out) { close $server_out; undef $server_out }
    remove_tree($tmpdir) if $tmpdir && -d $tmpdir;
    undef $tmpdir;
}

# One line from the server's stdout, without its newline; undef at end of file.
my $buffer = '';
my $eof = 0;
sub read_line {
    while (1) {
        if ($buffer =~ s/^([^\n]*)\n//) {
            trace('server.out', $1);
            return $1;
        }
        if ($eof) {
            return undef if $buffer eq '';
            my $rest = $buffer;
            $buffer = '';
            return $rest;
        }
        my $left = $deadline - time;
        outcome(EXIT_ERROR, sprintf("ERROR: timeout after %gs (mech=%s authid=%s)", $opt{timeout}, $opt{mech}, $authid))
          if $left <= 0;
        my $rin = '';
        vec($rin, fileno($server_out), 1) = 1;
        my $n = select(my $rout = $rin, undef, undef, $left);
        next if $n <= 0;
        my $got = sysread($server_out, my $chunk, 65536);
        if (!defined $got) {
            next if $!{EINTR} || $!{EAGAIN};
            $eof = 1;
        } elsif ($got == 0) {
            $eof = 1;
        } else {
            $buffer .= $chunk;
        }
    }
}

sub send_line {
    my ($line) = @_;
    trace('server <', $line);
    local $SIG{PIPE} = 'IGNORE';
    print {$server_in} "$line\n";
    $server_in->flush;
}

sub run {
    my @argv = @_;
    GetOptionsFromArray(\@argv, \%opt,
        # ':s' lets a value be empty (--realm= or --realm ''), which '=s' refuses
        'server-bin=s', 'db=s', 'mech=s', 'user=s', 'realm:s', 'password:s', 'authid-with-realm',
        'client-realm:s', 'authzid:s', 'decode-password', 'server-fqdn=s', 'client-hostname=s',
        'service=s', 'timeout=f', 'verbose|v')
      or usage();
    usage() if @argv;
    for my $required (qw(server-bin db mech user realm password)) {
        usage() unless defined $opt{$required};
    }
    $deadline = time + $opt{timeout};
    # a backstop for anything that could block outside read_line's select (a full pipe)
    alarm(int($opt{timeout}) + 1);
    my $mech = uc $opt{mech};
    $authid = $opt{user} . ($opt{'authid-with-realm'} ? '@' . $opt{realm} : '');

    my $db = File::Spec->rel2abs($opt{db});
    outcome(EXIT_ERROR, "ERROR: --db $opt{db}: no such file") unless -f $db;
    outcome(EXIT_ERROR, "ERROR: --db path cannot be written into sample.conf") if $db =~ /\n/ || $db =~ /^\s|\s$/;
    outcome(EXIT_ERROR, "ERROR: --server-bin $opt{'server-bin'} not found")
      unless -f $opt{'server-bin'} && -x _;

    (my $package = "Authen::SASL::Perl::$mech") =~ s/-/_/g;
    outcome(EXIT_ERROR, "ERROR: Authen::SASL $Authen::SASL::VERSION (Authen::SASL::Perl) has no $mech")
      unless $mech =~ /^[-\w]+$/ && eval "require $package; 1";

    my $password = $opt{password};
    if ($opt{'decode-password'}) {
        $password = eval { decode('UTF-8', $password, Encode::FB_CROAK) };
        outcome(EXIT_ERROR, "ERROR: --decode-password: the password is not UTF-8") unless defined $password;
    }
    my %callback = (user => $authid, pass => $password);
    $callback{authname} = $opt{authzid} if defined $opt{authzid};
    $callback{realm} = $opt{'client-realm'} if defined $opt{'client-realm'};
    my $sasl = Authen::SASL->new(mechanism => $mech, callback => \%callback);
    my $host = defined $opt{'client-hostname'} ? $opt{'client-hostname'} : $opt{'server-fqdn'};
    my $conn = eval { $sasl->client_new($opt{service}, $host) };
    outcome(EXIT_ERROR, "ERROR: Authen::SASL client_new failed: " . ($@ || 'no client'))
      unless $conn;
    outcome(EXIT_ERROR, "ERROR: Authen::SASL chose " . $conn->mechanism . ", not $mech")
      unless uc($conn->mechanism) eq $mech;

    $tmpdir = tempdir('perl-auth.XXXXXX', TMPDIR => 1);
    open(my $conf, '>', "$tmpdir/sample.conf") or outcome(EXIT_ERROR, "ERROR: sample.conf: $!");
    print $conf "sasldb_path: $db\n";
    close $conf;
    local $ENV{SASL_CONF_PATH} = $tmpdir;
    delete local $ENV{SASL_CONF_PATH_CLIENT};
    my @server = ('stdbuf', '-oL', $opt{'server-bin'}, '-m', $mech, '-s', $opt{service}, '-d', $opt{'server-fqdn'});
    push @server, '-u', $opt{realm} if length $opt{realm};
    # the server's stderr goes to a file: IPC::Open2 gives us only its stdin and stdout
    open(my $saved_err, '>&', \*STDERR) or outcome(EXIT_ERROR, "ERROR: dup stderr: $!");
    open(STDERR, '>', "$tmpdir/server.err") or outcome(EXIT_ERROR, "ERROR: server.err: $!");
    $server_pid = eval { open2($server_out, $server_in, @server) };
    my $spawn_error = $@;
    open(STDERR, '>&', $saved_err);
    outcome(EXIT_ERROR, "ERROR: cannot start the server: $spawn_error") unless $server_pid;

    my $initial = $conn->client_start;
    outcome(EXIT_ERROR, "ERROR: Authen::SASL client_start: " . $conn->error) if $conn->error;
    trace('client', defined $initial ? $initial : '<undef>');

    my ($ready, $accepted, $username) = (0, 0, undef);
    while (defined(my $line = read_line())) {
        if ($line =~ /^S:\s*(.*)$/) {
            my $payload = $1;
            if (!$ready) {
                # the mechanism list: answer with the choice and the initial response, as Net::SMTP does
                $ready = 1;
                my $choice = $mech . (defined $initial && length $initial ? "\0$initial" : '');
                send_line('C: ' . encode_base64($choice, ''));
                next;
            }
            my $challenge = decode_base64($payload);
            trace('challenge', $challenge);
            my $response = eval { $conn->client_step($challenge) };
            outcome(EXIT_ERROR, "ERROR: Authen::SASL client_step died: $@") if $@;
            if (my $error = $conn->error) {
                outcome(EXIT_ERROR, "ERROR: Authen::SASL gave up before the server decided: $error");
            }
            $response = '' unless defined $response;
            trace('client', $response);
            my $encoded = eval { encode_base64($response, '') };
            outcome(EXIT_ERROR, "ERROR: Authen::SASL returned characters, not bytes: $@") unless defined $encoded;
            send_line("C: $encoded");
        } elsif ($line eq 'Negotiation complete') {
            $accepted = 1;
        } elsif ($accepted && $line =~ /^Username: (.*)$/) {
            $username = $1;
            last;
        }
    }
    if ($accepted) {
        outcome(EXIT_ACCEPTED, "ACCEPTED: mech=$mech authid=$authid username=" . (defined $username ? $username : '?'));
    }
    # the server closed its stdout: wait for it to exit, then read its reason
    while (waitpid($server_pid, WNOHANG) == 0) {
        outcome(EXIT_ERROR, sprintf("ERROR: timeout after %gs (mech=%s authid=%s)", $opt{timeout}, $mech, $authid))
          if time > $deadline;
        select(undef, undef, undef, 0.01);
    }
    my $status = $? >> 8;
    undef $server_pid;
    my $err = server_stderr();
    trace('server.err', $err);
    my $reason;
    for my $l (split /\n/, $err) {
        $reason = $2 if $l =~ /^[^:]*: (Starting|Performing) SASL negotiation: (.*)$/;
    }
    if (defined $reason) {
        $reason = $1 if $reason =~ /^(.*) \((.*)\)$/ && $1 eq $2;
        outcome(EXIT_ERROR, "ERROR: server could not run mech=$mech: $reason")
          if $reason =~ /^no mechanism available/;
        outcome(EXIT_REJECTED, "REJECTED: mech=$mech authid=$authid server said: $reason");
    }
    (my $tail = $err) =~ s/\n/ | /g;
    $tail =~ s/[ |]+$//;
    outcome(EXIT_ERROR, "ERROR: server exited with status $status before deciding"
      . (length $tail ? "; server stderr: " . substr($tail, -300) : ''));
}

sub main {
    my @argv = @_;
    my ($code, $line) = (EXIT_ERROR, 'ERROR: internal');
    local $SIG{TERM} = sub { outcome(EXIT_ERROR, "ERROR: interrupted by signal TERM") };
    local $SIG{INT}  = sub { outcome(EXIT_ERROR, "ERROR: interrupted by signal INT") };
    local $SIG{HUP}  = sub { outcome(EXIT_ERROR, "ERROR: interrupted by signal HUP") };
    local $SIG{ALRM} = sub { outcome(EXIT_ERROR, "ERROR: timeout (alarm)") };
    eval {
        run(@argv);
        1;
    } or do {
        my $e = $@;
        if (ref $e eq 'HASH') {
            ($code, $line) = ($e->{code}, $e->{line});
        } else {
            chomp $e;
            ($code, $line) = (EXIT_ERROR, "ERROR: $e");
        }
    };
    alarm(0);
    local $SIG{TERM} = 'IGNORE';
    local $SIG{INT}  = 'IGNORE';
    local $SIG{HUP}  = 'IGNORE';
    cleanup();
    $line =~ s/\n/ /g;
    print "$line\n";
    return $code;
}

exit main(@ARGV);
