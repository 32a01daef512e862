#!/usr/bin/env python3
"""Runs our systemd units' programs in the file-system view systemd would give them, without systemd.

The CI machine cannot boot systemd, so this rebuilds what the unit files ask for in mount namespaces, reading the
unit files themselves (nothing here restates them):

  host    --overlay DIR=UPPER ... --bind DIR=SOURCE ... -- COMMAND
          A private "host": DIR overlaid with the writable UPPER (so /etc, /usr/sbin or /var/spool can hold a test's
          files while the machine's stay untouched), or SOURCE bound at DIR (/run). COMMAND runs there as root.
  service UNIT.service [--instance NAME]
          Inside a host: a new mount and PID namespace with the unit's view (ProtectSystem=strict: every mount
          read-only; ReadWritePaths=, RuntimeDirectory= (made, owned, writable), PrivateTmp=, ProtectHome=,
          PrivateDevices=, ProcSubset=/ProtectProc=, PrivateNetwork=), then its credentials (User=, Group=, SupplementaryGroups=,
          CapabilityBoundingSet=, AmbientCapabilities=, NoNewPrivileges=, UMask=) through setpriv, a clean
          environment (PATH, $NOTIFY_SOCKET when set), and its ExecStart=.
  socket  UNIT.socket
          systemd's socket activation of UNIT's ListenSequentialPacket= with Accept=yes: the socket is made with
          SocketUser=, SocketGroup=, SocketMode=, and every connection starts `service` for the matching
          template unit (name@.service), the connection as its descriptor 3.

What it cannot show: seccomp (SystemCallFilter=), RestrictAddressFamilies= and the other kernel-side restrictions;
`systemd-analyze security` checks that they are set.
"""
import os
import pwd
import grp
import shlex
import signal
import stat
import subprocess
import sys
import time

HERE = os.path.abspath(__file__)


def parse_unit(path):
    """The unit's assignments by section: {section: {key: [values in order]}}; an empty value resets the list."""
    sections = {}
    section = None
    with open(path) as unit:
        for raw in unit:
            line = raw.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("[") and line.endswith("]"):
                section = sections.setdefault(line[1:-1], {})
                continue
            key, _, value = line.partition("=")
            values = section.setdefault(key.strip(), [])
            if value.strip():
                values.append(value.strip())
            else:
                values.clear()
    return sections


def words(service, key):
    return [word for value in service.get(key, []) for word in value.split()]


def last(service, key, default=None):
    values = service.get(key, [])
    return values[-1] if values else default


def yes(service, key):
    return last(service, key, "no") in ("yes", "true", "1", "on", "strict", "invisible")


def run(*command):
    subprocess.run(command, check=True)


def mounts():
    with open("/proc/self/mountinfo") as info:
        return [line.split()[4] for line in info]


def host(arguments):
    if os.environ.pop("UNIT_SANDBOX_HOST", None) != "1":
        os.environ["UNIT_SANDBOX_HOST"] = "1"
        os.execvp("unshare", ["unshare", "--mount", "--propagation", "private", sys.executable, HERE, "host",
                              *arguments])
    separator = arguments.index("--")
    options, command = arguments[:separator], arguments[separator + 1:]
    for option, value in zip(options[::2], options[1::2]):
        directory, _, source = value.partition("=")
        if option == "--overlay":
            work = source.rstrip("/") + ".work"
            os.makedirs(source, exist_ok=True)
            os.makedirs(work, exist_ok=True)
            run("mount", "-t", "overlay", "overlay", "-o", f"lowerdir={directory},upperdir={source},workdir={work}",
                directory)
        elif option == "--bind":
            run("mount", "--bind", source, directory)
        else:
            sys.exit(f"unknown option {option}")
    os.execvp(command[0], command)


def private_devices():
    staging = "/run/.unit-sandbox-dev"
    os.makedirs(staging, exist_ok=True)
    run("mount", "-t", "tmpfs", "-o", "mode=755,nosuid,noexec", "tmpfs", staging)
    for name in ("null", "zero", "full", "random", "urandom", "tty"):
        open(f"{staging}/{name}", "w").close()
        run("mount", "--bind", f"/dev/{name}", f"{staging}/{name}")
    os.makedirs(f"{staging}/shm")
    run("mount", "-t", "tmpfs", "-o", "mode=1777,nosuid,nodev", "tmpfs", f"{staging}/shm")
    run("mount", "--move", staging, "/dev")
    os.rmdir(staging)


def service_view(service):
    """Mounts the unit's view in the current (new) mount namespace; returns the unit's user name."""
    user = last(service, "User")
    group = last(service, "Group")
    writable = []
    for path in words(service, "ReadWritePaths"):
        optional = path.startswith("-")
        path = path.lstrip("-")
        if os.path.exists(path):
            writable.append(path)
        elif not optional:
            sys.exit(f"ReadWritePaths={path} does not exist")
    mode = int(last(service, "RuntimeDirectoryMode", "0755"), 8)
    for name in words(service, "RuntimeDirectory"):
        path = "/run/" + name
        os.makedirs(path, exist_ok=True)
        os.chmod(path, mode)
        os.chown(path, pwd.getpwnam(user).pw_uid if user else 0,
                 grp.getgrnam(group).gr_gid if group else (pwd.getpwnam(user).pw_gid if user else 0))
        writable.append(path)
    if yes(service, "PrivateDevices"):
        private_devices()
    if last(service, "ProtectSystem") == "strict":
        for point in sorted(set(mounts()), key=len):
            if point == "/proc" or point.startswith(("/proc/", "/sys", "/dev")):
                continue
            run("mount", "-o", "remount,bind,ro", point)
        for path in writable:
            run("mount", "--bind", path, path)
            run("mount", "-o", "remount,bind,rw", path)
    if yes(service, "PrivateTmp"):
        for path in ("/tmp", "/var/tmp"):
            run("mount", "-t", "tmpfs", "-o", "mode=1777,nosuid,nodev", "tmpfs", path)
    if yes(service, "ProtectHome"):
        for path in ("/home", "/root", "/run/user"):
            if os.path.isdir(path):
                run("mount", "-t", "tmpfs", "-o", "ro,mode=000", "tmpfs", path)
    options = ["nosuid", "nodev", "noexec"]
    if last(service, "ProcSubset") == "pid":
        options.append("subset=pid")
    if last(service, "ProtectProc") in ("invisible", "noaccess", "ptraceable"):
        options.append("hidepid=" + last(service, "ProtectProc"))
    run("mount", "-t", "proc", "-o", ",".join(options), "proc", "/proc")
    return user, group


def credentials(service, user, group):
    """setpriv's arguments for the unit's credentials."""
    arguments = ["setpriv"]
    capabilities = [c.lower().removeprefix("cap_") for c in words(service, "CapabilityBoundingSet")]
    ambient = [c.lower().removeprefix("cap_") for c in words(service, "AmbientCapabilities")]
    if user:
        entry = pwd.getpwnam(user)
        gid = grp.getgrnam(group).gr_gid if group else entry.pw_gid
        groups = [str(grp.getgrnam(name).gr_gid) for name in words(service, "SupplementaryGroups")]
        arguments += [f"--reuid={entry.pw_uid}", f"--regid={gid}",
                      "--groups=" + ",".join(groups) if groups else "--clear-groups"]
        if ambient:
            listed = ",".join("+" + c for c in ambient)
            arguments += [f"--inh-caps={listed}", f"--ambient-caps={listed}"]
    if "CapabilityBoundingSet" in service:
        arguments.append("--bounding-set=-all" + "".join(",+" + c for c in capabilities))
    if yes(service, "NoNewPrivileges"):
        arguments.append("--no-new-privs")
    return arguments


def service(arguments):
    unit = parse_unit(arguments[0])["Service"]
    if os.environ.get("UNIT_SANDBOX_INSIDE") != "1":
        os.environ["UNIT_SANDBOX_INSIDE"] = "1"
        # Descriptor 3 (an activated connection) survives: unshare and setpriv keep descriptors.
        # PrivateNetwork=: a network namespace of its own, only loopback (down); an activated socket still works.
        network = ["--net"] if yes(unit, "PrivateNetwork") else []
        os.execvp("unshare", ["unshare", "--mount", "--propagation", "private", "--pid", "--fork", "--kill-child",
                              *network, sys.executable, HERE, "service", *arguments])
    user, group = service_view(unit)
    os.umask(int(last(unit, "UMask", "0022"), 8))
    environment = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
    for name in ("NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_FDNAMES"):
        if name in os.environ:
            environment[name] = os.environ[name]
    if "LISTEN_FDS" in environment:
        environment["LISTEN_PID"] = str(os.getpid())
    command = shlex.split(last(unit, "ExecStart"))
    os.execvpe("setpriv", credentials(unit, user, group) + ["--", *command], environment)


def socket(arguments):
    path = arguments[0]
    unit = parse_unit(path)["Socket"]
    address = last(unit, "ListenSequentialPacket")
    if last(unit, "Accept") != "yes" or not address:
        sys.exit("only ListenSequentialPacket= with Accept=yes is emulated")
    template = os.path.join(os.path.dirname(path), os.path.basename(path).removesuffix(".socket") + "@.service")
    if os.path.exists(address):
        os.unlink(address)
    activator = subprocess.Popen(["systemd-socket-activate", "--seqpacket", "--accept", "--listen", address,
                                  sys.executable, HERE, "service", template])
    deadline = time.monotonic() + 10
    while not (os.path.exists(address) and stat.S_ISSOCK(os.lstat(address).st_mode)):
        if time.monotonic() > deadline or activator.poll() is not None:
            sys.exit(f"{address} did not appear")
        time.sleep(0.05)
    os.chown(address, pwd.getpwnam(last(unit, "SocketUser", "root")).pw_uid,
             grp.getgrnam(last(unit, "SocketGroup", "root")).gr_gid)
    os.chmod(address, int(last(unit, "SocketMode", "0666"), 8))
    print(f"listening {address}", flush=True)
    # Stopping the socket stops the activator; writers already started end with their connection.
    signal.signal(signal.SIGTERM, lambda *_: activator.terminate())
    status = activator.wait()
    sys.exit(0 if status == -signal.SIGTERM else status)


if __name__ == "__main__":
    commands = {"host": host, "service": service, "socket": socket}
    if len(sys.argv) < 3 or sys.argv[1] not in commands:
        sys.exit(__doc__)
    commands[sys.argv[1]](sys.argv[2:])
