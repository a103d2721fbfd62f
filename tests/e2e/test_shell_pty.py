"""The emulated shell end to end through a real terminal: the OpenSSH
client runs with -tt on a pty this test owns, keys are typed into the pty
the way a terminal sends them, and what ssh writes back is fed to a small
VT100 screen model so that the assertions are about what a user would
see (edits, redraws, wrapped rows), not about the raw escape sequences.

Every read waits in select() with a short timeout under an overall
deadline; on any failure the ssh child is killed before it is reaped."""
import codecs
import fcntl
import os
import pty
import select
import shutil
import signal
import struct
import subprocess
import termios
import time
import unicodedata

import pytest

from sks5_server import Server, free_port

USER = "alice"
HOST = "ptyhost"
PROMPT = "%s@%s:~$" % (USER, HOST)	# as shown, trailing blank stripped

pytestmark = pytest.mark.skipif(shutil.which("ssh") is None,
                                reason="openssh-client missing")

LEFT, RIGHT, UP, DOWN = "\x1b[D", "\x1b[C", "\x1b[A", "\x1b[B"
HOME_SS3, LEFT_SS3 = "\x1bOH", "\x1bOD"
DELETE = "\x1b[3~"
CTRL_LEFT = "\x1b[1;5D"
BS = "\x7f"


class Screen:
    """A minimal xterm-like screen: printable characters with deferred
    autowrap at the right margin, CR, LF, BS, TAB, and the CSI sequences
    the editor and the shell write (cursor moves A/B/C/D/G/H, erase J/K,
    SGR ignored). Rows are kept without a height limit (nothing scrolls
    away). A resize does not reflow: rows are cut to the new width, as
    xterm does."""

    def __init__(self, cols):
        self.cols = cols
        self.rows = [[]]
        self.r = 0
        self.c = 0
        self.wrap = False
        self.dec = codecs.getincrementaldecoder("utf-8")("replace")
        self.state = None	# None, "esc", "csi", "skip1", "osc"
        self.params = ""

    def _row(self):
        while len(self.rows) <= self.r:
            self.rows.append([])
        row = self.rows[self.r]
        while len(row) < self.cols:
            row.append(" ")
        return row

    def _put(self, ch):
        w = 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        if unicodedata.combining(ch):
            return	# not used by these tests
        if self.wrap or self.c + w > self.cols:
            self.r += 1
            self.c = 0
            self.wrap = False
        row = self._row()
        row[self.c] = ch
        if w == 2:
            row[self.c + 1] = ""	# the right half of a wide character
        if self.c + w >= self.cols:
            self.c = self.cols - 1
            self.wrap = True
        else:
            self.c += w

    def _csi(self, final):
        ps = [int(p) if p.isdigit() else 0 for p in
              self.params.lstrip("?").split(";")] if self.params else []
        n = max(ps[0], 1) if ps else 1
        self.wrap = False
        if final == "A":
            self.r = max(self.r - n, 0)
        elif final == "B":
            self.r += n
        elif final == "C":
            self.c = min(self.c + n, self.cols - 1)
        elif final == "D":
            self.c = max(self.c - n, 0)
        elif final == "G":
            self.c = min(n - 1, self.cols - 1)
        elif final == "H":
            self.r, self.c = 0, 0
        elif final == "J":
            mode = ps[0] if ps else 0
            if mode == 0:
                row = self._row()
                for i in range(self.c, self.cols):
                    row[i] = " "
                del self.rows[self.r + 1:]
            elif mode == 2:
                self.rows = [[] for _ in self.rows]
        elif final == "K":
            row = self._row()
            mode = ps[0] if ps else 0
            rng = range(self.c, self.cols) if mode == 0 else \
                range(0, self.c + 1) if mode == 1 else range(self.cols)
            for i in rng:
                row[i] = " "
        # "m" (SGR) and everything else: no effect on the text

    def feed(self, data):
        for ch in self.dec.decode(data):
            if self.state == "esc":
                if ch == "[":
                    self.state, self.params = "csi", ""
                elif ch == "]":
                    self.state = "osc"
                elif ch in "()#":
                    self.state = "skip1"
                else:
                    self.state = None
                continue
            if self.state == "skip1":
                self.state = None
                continue
            if self.state == "osc":
                if ch in "\x07\x1b":
                    self.state = None
                continue
            if self.state == "csi":
                if "\x40" <= ch <= "\x7e":
                    self.state = None
                    self._csi(ch)
                else:
                    self.params += ch
                continue
            if ch == "\x1b":
                self.state = "esc"
            elif ch == "\r":
                self.c, self.wrap = 0, False
            elif ch == "\n":
                self.r += 1
                self.wrap = False
                self._row()
            elif ch == "\b":
                if self.c > 0:
                    self.c -= 1
                self.wrap = False
            elif ch == "\t":
                self.c = min((self.c // 8 + 1) * 8, self.cols - 1)
            elif ch < " " or ch == "\x7f":
                pass	# BEL and other controls
            else:
                self._put(ch)

    def resize(self, cols):
        self.cols = cols
        self.rows = [row[:cols] for row in self.rows]
        self.c = min(self.c, cols - 1)
        self.wrap = False

    def lines(self):
        """Rows up to the cursor's, trailing blanks stripped."""
        self._row()
        return ["".join(r).rstrip() for r in self.rows[:self.r + 1]]

    def all_lines(self):
        """Every row, also below the cursor; trailing blank rows cut."""
        ls = ["".join(r).rstrip() for r in self.rows]
        while ls and not ls[-1]:
            ls.pop()
        return ls

    def text(self):
        return "\n".join(self.all_lines()) + \
            "\n(cursor at row %d of %d, column %d)" % (
                self.r, len(self.rows), self.c)


class Session:
    """ssh -tt on a pty of cols columns; keys in, screen out."""

    def __init__(self, args, cols=80, rows=24):
        self.screen = Screen(cols)
        self.raw = b""
        self.eof = False
        self.status = None
        env = dict(os.environ, TERM="xterm")
        pid, fd = pty.fork()
        if pid == 0:	# child: size the terminal before ssh reads it
            try:
                fcntl.ioctl(0, termios.TIOCSWINSZ,
                            struct.pack("HHHH", rows, cols, 0, 0))
                os.execvpe(args[0], args, env)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd

    def pump(self, timeout):
        """Reads what is there within timeout seconds (one select)."""
        if self.eof:
            return
        r, _, _ = select.select([self.fd], [], [], timeout)
        if not r:
            return
        try:
            data = os.read(self.fd, 65536)
        except OSError:
            data = b""
        if not data:
            self.eof = True
            return
        self.raw += data
        self.screen.feed(data)

    def wait(self, pred, what, timeout=20):
        deadline = time.monotonic() + timeout
        while True:
            if pred(self.screen):
                return
            if self.eof or time.monotonic() > deadline:
                raise AssertionError("timed out waiting for %s; screen:\n%s"
                                     "\nlast raw bytes: %r" % (
                                         what, self.screen.text(),
                                         self.raw[-600:]))
            self.pump(0.2)

    def send(self, keys):
        data = keys.encode() if isinstance(keys, str) else keys
        while data:
            n = os.write(self.fd, data)
            data = data[n:]

    def resize(self, cols, rows=24):
        self.screen.resize(cols)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ,
                    struct.pack("HHHH", rows, cols, 0, 0))
        os.kill(self.pid, signal.SIGWINCH)

    def reap(self, timeout=20):
        """Waits (bounded) for ssh to exit; returns its exit status."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, st = os.waitpid(self.pid, os.WNOHANG)
            if pid == self.pid:
                self.status = os.WEXITSTATUS(st) if os.WIFEXITED(st) else -1
                return self.status
            self.pump(0.1)
            if self.eof:
                time.sleep(0.05)
        raise AssertionError("ssh did not exit; screen:\n" + self.screen.text())

    def kill(self):
        """Kills ssh unless it was reaped, then reaps it (bounded)."""
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            for _ in range(100):
                try:
                    pid, _ = os.waitpid(self.pid, os.WNOHANG)
                except ChildProcessError:
                    break
                if pid == self.pid:
                    break
                time.sleep(0.05)
            self.status = -9
        try:
            os.close(self.fd)
        except OSError:
            pass


class Shell:
    """Helpers over a logged-in Session."""

    def __init__(self, sess, prompt=PROMPT):
        self.s = sess
        self.prompt = prompt

    def at_prompt(self, sc):
        ls = sc.lines()
        return ls[-1] == self.prompt and sc.c == len(self.prompt) + 1

    def login(self):
        self.s.wait(self.at_prompt, "the first prompt")

    def run(self, keys, line, out, timeout=20):
        """Types keys (ending in Enter), then waits until the screen
        ends with the prompt and line, the output rows out, and a fresh
        prompt."""
        want = [self.prompt + (" " + line if line else "")] + list(out) + \
            [self.prompt]
        self.s.send(keys)
        self.s.wait(lambda sc: sc.lines()[-len(want):] == want and
                    sc.c == len(self.prompt) + 1,
                    "rows %r" % want, timeout)

    def edit(self, keys, line):
        """Types keys (no Enter) and waits for the line to read line."""
        want = self.prompt + (" " + line if line else "")
        self.s.send(keys)
        self.s.wait(lambda sc: sc.lines()[-1] == want, "line %r" % want)


class Env:
    def __init__(self, tmp):
        self.tmp = tmp
        self.key = tmp / "id_user"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                        str(self.key)], check=True, timeout=30)
        self.pub = (tmp / "id_user.pub").read_text().strip()
        self.server = None

    def start(self, server_extra="", users_extra="", extra=""):
        self.port = free_port()
        body = """
[server]
ssh_listen = "127.0.0.1:%d"
host_key_path = "keys/host_key"
shutdown_timeout = 3
%s

[shell]
hostname = "%s"

[security]
ip_guard_enabled = false

%s

[[users]]
username = "%s"
authorized_keys = ["%s"]
%s
""" % (self.port, server_extra, HOST, extra, USER, self.pub, users_extra)
        self.server = Server(self.tmp, body)
        self.server.wait_port(self.port)

    def ssh(self, user=USER):
        return ["ssh", "-tt", "-e", "none", "-p", str(self.port),
                "-o", "UserKnownHostsFile=/dev/null",
                "-o", "StrictHostKeyChecking=no", "-o", "LogLevel=ERROR",
                "-o", "ConnectTimeout=10", "-o", "BatchMode=yes",
                "-F", "/dev/null", "-i", str(self.key),
                "-o", "IdentitiesOnly=yes",
                "-o", "PreferredAuthentications=publickey",
                "%s@127.0.0.1" % user]

    def stop(self):
        if self.server is not None:
            assert self.server.stop() == 0


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    e = Env(tmp_path_factory.mktemp("pty"))
    e.start()
    yield e
    e.stop()


@pytest.fixture
def session(env):
    opened = []

    def open_(cols=80, user=USER):
        s = Session(env.ssh(user), cols=cols)
        opened.append(s)
        return s

    yield open_
    for s in opened:
        s.kill()


def logout(sh, status=0):
    """exit: ssh ends with the status of the last command."""
    sh.s.send("exit\r")
    sh.s.wait(lambda sc: "logout" in sc.lines(), "logout")
    assert sh.s.reap() == status


def test_login_motd_prompt_and_exit(session):
    s = session()
    sh = Shell(s)
    sh.login()
    ls = s.screen.lines()
    # The default MOTD: a box with the version, host and user.
    assert ls[0].startswith("\u2554\u2550")
    assert any(x.startswith("\u2551  sks5 ") and x.endswith(" on " + HOST)
               for x in ls), ls
    assert "\u2551  Welcome, %s!" % USER in ls
    assert "\u2551  Auth:        publickey" in ls
    assert any(x.startswith("\u255a\u2550") for x in ls), ls
    sh.run("whoami\r", "whoami", [USER])
    logout(sh)


def test_editing_keys(session):
    s = session()
    sh = Shell(s)
    sh.login()
    # Backspace at the end
    sh.edit("whoamX", "whoamX")
    sh.edit(BS, "whoam")
    sh.run("i\r", "whoami", [USER])
    # Left twice, insert in the middle
    sh.edit("hostnme", "hostnme")
    sh.edit(LEFT + LEFT, "hostnme")
    sh.run("a\r", "hostname", [HOST])
    # Ctrl-A inserts at the start, Ctrl-E goes back to the end
    sh.edit("oami", "oami")
    sh.edit("\x01wh", "whoami")
    sh.edit("\x05 ", "whoami")
    sh.run("\r", "whoami", [USER])
    # Ctrl-U kills the whole line before the cursor
    sh.edit("garbage words", "garbage words")
    sh.run("\x15echo clean\r", "echo clean", ["clean"])
    # Ctrl-K kills from the cursor to the end
    sh.edit("echo hello XXXX", "echo hello XXXX")
    sh.edit(LEFT * 4 + "\x0b", "echo hello")
    sh.run("world\r", "echo hello world", ["hello world"])
    # Ctrl-W kills the word before the cursor
    sh.edit("echo one two", "echo one two")
    sh.edit("\x17", "echo one")
    sh.run("three\r", "echo one three", ["one three"])
    # Delete (ESC [ 3 ~) removes the character under the cursor
    sh.edit("echo abXc", "echo abXc")
    sh.edit(LEFT + LEFT + DELETE, "echo abc")
    sh.run("\r", "echo abc", ["abc"])
    # SS3 Home and Left, Ctrl-Left by words
    sh.edit("cho two", "cho two")
    sh.edit(HOME_SS3 + "e", "echo two")
    sh.edit("\x05" + CTRL_LEFT + "one ", "echo one two")
    sh.edit("\x05" + LEFT_SS3 + LEFT_SS3 + "X", "echo one tXwo")
    sh.run("\r", "echo one tXwo", ["one tXwo"])
    # Ctrl-C drops the line; the status is 130
    s.send("echo never")
    s.send("\x03")
    s.wait(lambda sc: sc.lines()[-2:] == [PROMPT + " echo never^C", PROMPT],
           "^C and a fresh prompt")
    sh.run("echo $?\r", "echo $?", ["$?"])
    # An unknown command
    sh.run("nosuch\r", "nosuch", ["nosuch: command not found"])
    logout(sh, 127)


def test_history_recall(session):
    s = session()
    sh = Shell(s)
    sh.login()
    sh.run("history -c\r", "history -c", [])	# the store is shared
    sh.run("echo first-hist\r", "echo first-hist", ["first-hist"])
    sh.run("echo second-hist\r", "echo second-hist", ["second-hist"])
    # Up shows the last line, Up again the one before
    sh.edit(UP, "echo second-hist")
    sh.edit(UP, "echo first-hist")
    sh.edit(UP, "echo first-hist")	# top of the history: unchanged
    sh.edit(DOWN, "echo second-hist")
    sh.edit(DOWN, "")
    # Up then Enter runs it again
    sh.run(UP + UP + "\r", "echo first-hist", ["first-hist"])
    ls = s.screen.lines()
    assert ls.count(PROMPT + " echo first-hist") == 2
    assert ls.count("first-hist") == 2
    # Ctrl-P, edited before Enter
    sh.run("\x10" + BS * 4 + "again\r", "echo first-again", ["first-again"])
    # history lists them in order
    s.send("history\r")
    s.wait(lambda sc: sc.lines()[-1] == PROMPT and
           any("history" in x for x in sc.lines()[-3:]), "history output")
    ls = s.screen.lines()
    start = len(ls) - 1 - ls[::-1].index(PROMPT + " history")
    hist = [x.split(None, 1)[1] for x in ls[start + 1:-1]]
    assert hist[-4:] == ["echo second-hist", "echo first-hist",
                         "echo first-again", "history"], hist
    logout(sh)


def test_tab_completion(session):
    s = session()
    sh = Shell(s)
    sh.login()
    # A unique command prefix completes with a blank after it
    sh.edit("who\t", "whoami")
    assert s.screen.c == len(PROMPT + " whoami ")
    sh.run("\r", "whoami", [USER])
    # An ambiguous prefix lists the candidates and keeps the line
    s.send("h\t")
    s.wait(lambda sc: sc.lines()[-1] == PROMPT + " h" and
           len(sc.lines()) >= 3 and sc.lines()[-3] == PROMPT + " h",
           "candidate list")
    assert s.screen.lines()[-2].split() == ["help", "history", "hostname"]
    sh.edit("ostn\t", "hostname")
    sh.run("\r", "hostname", [HOST])
    # show topics
    sh.edit("show st\t", "show status")
    s.send("\r")
    s.wait(lambda sc: sc.lines()[-1] == PROMPT and
           PROMPT + " show status" in sc.lines(), "show status output")
    ls = s.screen.lines()
    out = ls[len(ls) - 1 - ls[::-1].index(PROMPT + " show status") + 1:-1]
    assert out[0] == "Session status"
    assert "  User:        %s" % USER in out, out
    # a prefix with nothing to complete changes nothing
    sh.edit("zzz\t", "zzz")
    sh.run("\x15whoami\r", "whoami", [USER])
    logout(sh)


def rows_of(text, cols):
    return [text[i:i + cols] for i in range(0, len(text), cols)]


def wait_rows(s, rows, what):
    """The screen ends with exactly rows, and the row above them is no
    stale copy of the first."""
    s.wait(lambda sc: sc.all_lines()[-len(rows):] == rows and
           sc.all_lines()[-len(rows) - 1] != rows[0], what)


def test_long_line_wraps_on_narrow_terminal(session):
    cols = 40
    s = session(cols=cols)
    sh = Shell(s)
    sh.login()
    # output without a final newline: the prompt still starts a row, so
    # the wrapped line below is laid out where the editor thinks it is
    sh.run("echo -n abc\r", "echo -n abc", ["abc"])
    long = "".join(chr(ord("a") + i % 26) for i in range(70))
    s.send("echo " + long)
    line = PROMPT + " echo " + long
    wait_rows(s, rows_of(line, cols), "the wrapped line")
    # Insert in the middle of the first row, and delete there: redraws
    # over every row
    s.send("\x01" + RIGHT * 5 + "X")
    text = "echo X" + long
    wait_rows(s, rows_of(PROMPT + " " + text, cols), "insert in row 0")
    assert (len(s.screen.all_lines()) - 3, s.screen.c) == \
        (s.screen.r, len(PROMPT) + 1 + 6)
    s.send(RIGHT * 30 + BS)	# in the second row now
    text = text[:35] + text[36:]
    wait_rows(s, rows_of(PROMPT + " " + text, cols), "backspace in row 1")
    assert (len(s.screen.all_lines()) - 1 - s.screen.r, s.screen.c) == \
        (1, (len(PROMPT) + 1 + 35) - cols)
    # A line that ends exactly on the margin
    s.send("\x05" + "z" * (cols * 3 - len(PROMPT) - 1 - len(text)))
    text += "z" * (cols * 3 - len(PROMPT) - 1 - len(text))
    full = rows_of(PROMPT + " " + text, cols)
    s.wait(lambda sc: sc.lines()[-4:] == full + [""] and sc.c == 0,
           "cursor below a full row")
    s.send(BS)
    wait_rows(s, rows_of(PROMPT + " " + text[:-1], cols), "back over margin")
    s.send("\r")
    out = text[:-1][len("echo "):]
    s.wait(lambda sc: sc.lines()[-1] == PROMPT and
           sc.lines()[-1 - len(rows_of(out, cols)):-1] == rows_of(out, cols),
           "the echoed text")
    logout(sh)


def test_window_change_keeps_line_intact(session):
    s = session(cols=40)
    sh = Shell(s)
    sh.login()
    sh.run("echo before\r", "echo before", ["before"])
    long = "".join(chr(ord("A") + i % 26) for i in range(65))
    s.send("echo " + long)
    line = PROMPT + " echo " + long
    wait_rows(s, rows_of(line, 40), "wrapped at 40")
    # Wider: the server redraws the line for 60 columns
    s.resize(60)
    wait_rows(s, rows_of(line, 60), "redrawn at 60")
    # ... and edits then lay out at 60 with nothing stale left above
    s.send("\x01" + RIGHT * 5 + "Q")
    line = PROMPT + " echo Q" + long
    wait_rows(s, rows_of(line, 60), "edited at 60")
    assert s.screen.all_lines()[-3] == "before"
    # Narrower again
    s.resize(30)
    wait_rows(s, rows_of(line, 30), "redrawn at 30")
    s.send(BS)
    line = PROMPT + " echo " + long
    wait_rows(s, rows_of(line, 30), "edited at 30")
    s.send("\r")
    s.wait(lambda sc: sc.lines()[-1] == PROMPT and
           sc.lines()[-1 - len(rows_of(long, 30)):-1] == rows_of(long, 30),
           "the echoed text")
    logout(sh)


def test_utf8_and_wide_characters(session):
    s = session(cols=30)
    sh = Shell(s)
    sh.login()
    # 17 prompt columns + "echo " + 3 + 2 + 2 = 29: the third wide
    # character does not fit in column 30 and goes to the next row
    s.send("echo \u00fc\u00fc\u00fc\u65e5\u672c\u8a9e\u6f22\u5b57")
    wait_rows(s, [PROMPT + " echo \u00fc\u00fc\u00fc\u65e5\u672c",
                  "\u8a9e\u6f22\u5b57"], "a wide character wrapped")
    assert (s.screen.c, len(s.screen.all_lines()) - 1) == (6, s.screen.r)
    # Left over wide characters, Backspace deletes one whole character
    s.send(LEFT * 4 + BS)
    wait_rows(s, [PROMPT + " echo \u00fc\u00fc\u00fc\u672c\u8a9e",
                  "\u6f22\u5b57"], "re-wrapped after a delete")
    assert s.screen.c == 25
    s.send(LEFT + "e")
    wait_rows(s, [PROMPT + " echo \u00fc\u00fce\u00fc\u672c\u8a9e",
                  "\u6f22\u5b57"], "ASCII among UTF-8")
    s.send("\r")
    s.wait(lambda sc: sc.lines()[-2:] == [
        "\u00fc\u00fce\u00fc\u672c\u8a9e\u6f22\u5b57", PROMPT],
        "the echoed UTF-8 text")
    logout(sh)


def test_paths_clear_screen_and_pasted_lines(session):
    s = session()
    sh = Shell(s)
    sh.login()
    # paths complete, directories with a slash and no blank
    sh.edit("cd /e\t", "cd /etc/")
    sh.prompt = "%s@%s:/etc$" % (USER, HOST)
    s.send("\r")
    s.wait(lambda sc: sc.lines()[-2:] == [PROMPT + " cd /etc/", sh.prompt],
           "the prompt in /etc")
    sh.edit("cat mo\t", "cat motd")
    sh.run("\x15pwd\r", "pwd", ["/etc"])
    # Ctrl-L: the screen is cleared, the line drawn again at the top
    sh.edit("echo kept", "echo kept")
    s.send("\x0c")
    s.wait(lambda sc: sc.all_lines() == [sh.prompt + " echo kept"],
           "a cleared screen")
    sh.run("\r", "echo kept", ["kept"])
    # pasted lines, CR LF as one Enter each, no empty command between
    s.send("cd\r\necho one\r\necho two\r\n")
    sh.prompt = PROMPT
    s.wait(lambda sc: sc.lines()[-5:] == [
        PROMPT + " echo one", "one", PROMPT + " echo two", "two", PROMPT],
        "both pasted lines")
    # Ctrl-D on an empty line logs out with the last status
    s.send("nosuch\r")
    s.wait(lambda sc: sc.lines()[-2:] == ["nosuch: command not found",
                                          PROMPT], "127")
    s.send("\x04")
    s.wait(lambda sc: sc.all_lines()[-1] == PROMPT + " logout",
           "logout after the prompt on Ctrl-D, as bash does")
    assert s.reap() == 127


@pytest.fixture
def motd_env(tmp_path):
    e = Env(tmp_path)
    (tmp_path / "motd.txt").write_text(
        "From the file, {user}!\nHost {hostname}, auth {auth_method}\n"
        "Kept {nosuch}\n")
    yield e
    e.stop()


def first_rows(env, user, n):
    """Logs user in, returns the first n rows of the screen, logs out."""
    s = Session(env.ssh(user), cols=80)
    try:
        sh = Shell(s, prompt="%s@%s:~$" % (user, HOST))
        sh.login()
        rows = s.screen.lines()[:n]
        logout(sh)
        return rows
    finally:
        s.kill()


def test_motd_path(motd_env):
    motd_env.start(server_extra='motd_path = "motd.txt"', extra="""
[[users]]
username = "bob"
authorized_keys = ["%s"]
[users.motd]
template = "Bob's own {user}"
""" % motd_env.pub)
    s = Session(motd_env.ssh(), cols=80)
    try:
        sh = Shell(s)
        sh.login()
        ls = s.screen.lines()
        assert ls == ["From the file, %s!" % USER,
                      "Host %s, auth publickey" % HOST,
                      "Kept {nosuch}", "", PROMPT], ls
        sh.run("cat /etc/motd\r", "cat /etc/motd",
               ["From the file, %s!" % USER,
                "Host %s, auth publickey" % HOST, "Kept {nosuch}"])
        logout(sh)
    finally:
        s.kill()
    motd_env.server.wait_log("unknown MOTD variable {nosuch}")
    # A user's own template wins over the file
    assert first_rows(motd_env, "bob", 2) == ["Bob's own bob", ""]
    # The file is read again on reload
    (motd_env.tmp / "motd.txt").write_text("Reloaded for {user}\n")
    motd_env.server.proc.send_signal(signal.SIGHUP)
    motd_env.server.wait_log("event=config.reload success=true")
    assert first_rows(motd_env, USER, 3) == ["Reloaded for %s" % USER, "",
                                             PROMPT]
