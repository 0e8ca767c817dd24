"""The filter grammars (policy.filters, policy.jq) and the pipeline split.

Invariants: every spelling models write is accepted and becomes a canonical argument
list that the grammar maps to itself; an option that writes, reads a file, runs a
program or follows forever is refused in every spelling (bundled, attached, ``=value``,
after the operand); an operand beyond the pattern or program is refused (a filter reads
only the stage before it); a jq program is refused when a refused builtin stands as code
anywhere (an interpolation, a definition, an argument), and passes when the name is only
a field, a key or text. Benign pieces are accepted, so refusing everything cannot pass.
"""

from __future__ import annotations

import shlex

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from k8smcp.errors import InvalidCommandError, PolicyDeniedError
from k8smcp.pipeline import split_pipeline
from k8smcp.policy.filters import FILTERS, MAX_STAGES, check_filters
from k8smcp.policy.jq import REFUSED, check_program

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def argv(stage: str) -> tuple[str, ...]:
    return check_filters([shlex.split(stage)])[0].argv


def refusal(stage: str) -> str:
    with pytest.raises(PolicyDeniedError) as caught:
        check_filters([shlex.split(stage)])
    return str(caught.value)


@pytest.mark.parametrize(
    ("stage", "expected"),
    [
        ("grep CrashLoop", ("grep", "--regexp=CrashLoop")),
        ("grep -v Running", ("grep", "--invert-match", "--regexp=Running")),
        ("grep -iv running", ("grep", "--ignore-case", "--invert-match", "--regexp=running")),
        ("grep -E 'Crash|Error'", ("grep", "--extended-regexp", "--regexp=Crash|Error")),
        ("grep 'Error\\|Warn'", ("grep", "--regexp=Error\\|Warn")),
        ("grep -c Running", ("grep", "--count", "--regexp=Running")),
        ("grep Running -c", ("grep", "--count", "--regexp=Running")),
        (
            "grep -A3 -B 2 panic",
            ("grep", "--after-context=3", "--before-context=2", "--regexp=panic"),
        ),
        ("grep -e a -e b", ("grep", "--regexp=a", "--regexp=b")),
        ("grep -- -v", ("grep", "--regexp=-v")),
        ("grep --max-count=5 x", ("grep", "--max-count=5", "--regexp=x")),
        ("head -20", ("head", "--lines=20")),
        ("head -n 20", ("head", "--lines=20")),
        ("head -n20", ("head", "--lines=20")),
        ("head --lines=20", ("head", "--lines=20")),
        ("head -n -3", ("head", "--lines=-3")),
        ("head -c 100", ("head", "--bytes=100")),
        ("tail -5", ("tail", "--lines=5")),
        ("tail -n +2", ("tail", "--lines=+2")),
        ("wc -l", ("wc", "--lines")),
        ("wc", ("wc",)),
        ("sort", ("sort",)),
        ("sort -k3 -n -r", ("sort", "--key=3", "--numeric-sort", "--reverse")),
        ("sort -rnk3", ("sort", "--reverse", "--numeric-sort", "--key=3")),
        ("sort -t, -k2,2", ("sort", "--field-separator=,", "--key=2,2")),
        ("uniq -c", ("uniq", "--count")),
        ("cut -d' ' -f1", ("cut", "--delimiter= ", "--fields=1")),
        ("cut -f 1,3-5", ("cut", "--fields=1,3-5")),
        ("jq .", ("jq", ".")),
        ("jq '.items[].metadata.name'", ("jq", ".items[].metadata.name")),
        ("jq -r '.items[] | .metadata.name'", ("jq", "--raw-output", ".items[] | .metadata.name")),
        ("jq -rc .x", ("jq", "--raw-output", "--compact-output", ".x")),
        ("jq .x -r", ("jq", "--raw-output", ".x")),
        (
            "jq --arg n web '.items[] | select(.metadata.name == $n)'",
            ("jq", "--arg", "n", "web", ".items[] | select(.metadata.name == $n)"),
        ),
        ("jq --argjson n 3 '.[$n]'", ("jq", "--argjson", "n", "3", ".[$n]")),
        ("jq --indent 2 .", ("jq", "--indent", "2", ".")),
        ("jq '.spec.containers[].env'", ("jq", ".spec.containers[].env")),
        ("jq '{env: .a, name: .b}'", ("jq", "{env: .a, name: .b}")),
        ("jq '.data | keys'", ("jq", ".data | keys")),
    ],
)
def test_spellings_models_write_become_canonical(stage, expected):
    assert argv(stage) == expected
    assert argv(shlex.join(expected)) == expected  # what runs means the same again


@pytest.mark.parametrize(
    ("stage", "why"),
    [
        ("grep -f /etc/passwd", "reads a file"),
        ("grep --file=/etc/passwd x", "reads a file"),
        ("grep -rf /etc x", "reads a file"),
        ("grep -if /etc/passwd", "reads a file"),
        ("grep x /etc/passwd", "file operand"),
        ("grep -e x /etc/passwd", "file operand"),
        ("grep -r x /", "reads a file"),
        ("grep --include=*.conf x", "reads a file"),
        ("grep -P '(a+)+$'", "Perl"),
        ("grep '\\(a*\\)*\\1'", "back-reference"),
        ("grep -E 'a{1000}'", "255"),
        ("sort -o /tmp/out", "writes a file"),
        ("sort -ro/tmp/out", "writes a file"),
        ("sort --output=/tmp/out", "writes a file"),
        ("sort -T /tmp", "writes a file"),
        ("sort --compress-program=sh", "runs another program"),
        ("sort --compress-prog=sh", "spelled whole"),
        ("sort --comp sh", "spelled whole"),
        ("sort --files0-from=/etc/list", "reads a file"),
        ("sort --random-source=/dev/urandom -R", "reads a file"),
        ("sort /etc/passwd", "file operand"),
        ("uniq in.txt out.txt", "file operand"),
        ("uniq - /tmp/out", "file operand"),
        ("wc --files0-from=/etc/list", "reads a file"),
        ("wc -l /etc/shadow", "file operand"),
        ("head /etc/passwd", "file operand"),
        ("tail -f", "follows forever"),
        ("tail --follow=name x", "follows forever"),
        ("tail -n 5 /var/log/syslog", "file operand"),
        ("cut -f1 /etc/passwd", "file operand"),
        ("jq -f /etc/prog.jq", "reads a file"),
        ("jq --from-file /etc/prog.jq", "reads a file"),
        ("jq -L /tmp .", "reads a file"),
        ("jq --rawfile x /etc/passwd .", "reads a file"),
        ("jq --slurpfile x /etc/passwd .", "reads a file"),
        ("jq . /etc/passwd", "file operand"),
        ("jq --args . a b", "could name files"),
        ("jq '$ENV'", "environment"),
        ("jq '$ENV.HOME'", "environment"),
        ("jq '$ ENV'", "environment"),
        ("jq env", "environment"),
        ("jq 'env.PATH'", "environment"),
        ("jq '.a | env'", "environment"),
        ("jq '\"\\(env.HOME)\"'", "environment"),
        ("jq 'input_filename'", "names files"),
        ("jq 'import \"x\" as y; .'", "module"),
        ("jq 'include \"x\"; .'", "module"),
        ("jq '.a | debug'", "outside the answer"),
        ("jq 'stderr'", "outside the answer"),
        ("jq 'get_search_list'", "directories"),
        ("jq -n 'def f: env; f'", "environment"),
        ("jq '{a: env}'", "environment"),
        ("jq 'reduce env as $x (0; .)'", "environment"),
        ("jq -- -1", "like an option"),
        ("awk '{print $1}'", "not a filter"),
        ("sh -c id", "not a filter"),
        ("xargs rm", "not a filter"),
        ("base64 -d", "not a filter"),
        ("tee /tmp/x", "not a filter"),
        ("/usr/bin/grep x", "not a filter"),
        ("grep x > /tmp/out", "shell operator"),
        ("grep x ; id", "shell operator"),
        ("head -n", "needs a value"),
        ("head -n lots", "whole number"),
        ("head -n 99999999999", "whole number"),
        ("grep", "needs a PATTERN"),
        ("jq", "needs a PROGRAM"),
        ("cut -d ab -f1", "one character"),
        ("cut -f '1;id'", "list of fields"),
        ("sort -k '1;x'", "key like"),
        ("wc --lines=3", "takes no value"),
    ],
)
def test_refusals_name_the_reason(stage, why):
    assert why in refusal(stage)
    assert "(rule filter)" in refusal(stage) or "(rule shell)" in refusal(stage)


def test_empty_stage_and_too_many_stages_are_refused():
    with pytest.raises(PolicyDeniedError, match="empty"):
        check_filters([[]])
    with pytest.raises(PolicyDeniedError, match="more than"):
        check_filters([["wc", "-l"]] * (MAX_STAGES + 1))


def test_jq_program_length_is_capped():
    with pytest.raises(PolicyDeniedError, match="longer than"):
        check_program("." + " " * 5000)


# -- properties -------------------------------------------------------------------------

# every refused option of every filter, as (filter, spelling, takes a value?)
REFUSED_OPTIONS = [
    (name, spelled) for name, grammar in FILTERS.items() for spelled in grammar.refused
]
BENIGN = {
    "grep": (["-i", "-v", "-c", "-n", "-E", "-w", "-A2", "--max-count=3"], ["x"]),
    "head": (["-n5", "-q"], []),
    "tail": (["-n 5", "-q", "-3"], []),
    "wc": (["-l", "-w"], []),
    "sort": (["-r", "-n", "-k2", "-u"], []),
    "uniq": (["-c", "-d", "-i"], []),
    "cut": (["-d,", "-f1"], []),
    "jq": (["-r", "-c", "-S"], [".items[].metadata.name"]),
}


@st.composite
def refused_stage(draw):
    name, spelled = draw(st.sampled_from(REFUSED_OPTIONS))
    flags, operands = BENIGN[name]
    value = draw(st.sampled_from(["/etc/passwd", "/tmp/out", "sh", "x"]))
    if spelled.startswith("--"):
        forms = [[spelled], [f"{spelled}={value}"], [spelled, value]]
    else:
        letter = spelled[1]
        # bundled after benign letters that take no value (-i, -v, -r ...)
        options = FILTERS[name].options
        bools = [f[1] for f in flags if f in options and options[f].value is None]
        forms = [[spelled], [spelled + value], [spelled, value]]
        if bools:
            forms.append(["-" + draw(st.sampled_from(bools)) + letter, value])
    form = draw(st.sampled_from(forms))
    pieces = [list(f.split(" ")) for f in draw(st.lists(st.sampled_from(flags), max_size=3))]
    position = draw(st.integers(0, len(pieces)))
    pieces.insert(position, form)
    args = [a for piece in pieces for a in piece]
    where = draw(st.sampled_from(["before", "after"]))
    args = [*operands, *args] if where == "before" else [*args, *operands]
    return [name, *args]


@SETTINGS
@given(refused_stage())
def test_a_refused_option_never_passes_in_any_spelling(stage):
    with pytest.raises(PolicyDeniedError):
        check_filters([stage])


@st.composite
def benign_stage(draw):
    name = draw(st.sampled_from(sorted(BENIGN)))
    flags, operands = BENIGN[name]
    chosen = draw(st.lists(st.sampled_from(flags), max_size=4, unique=True))
    args = [a for f in chosen for a in f.split(" ")]
    cut = draw(st.integers(0, len(args)))
    return [name, *args[:cut], *operands, *args[cut:]]


@SETTINGS
@given(benign_stage(), st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=2))
def test_benign_stages_pass_and_extra_operands_never_do(stage, extra):
    checked = check_filters([stage])[0]
    assert check_filters([list(checked.argv)])[0] == checked  # canonical is a fixed point
    assume_no_option = [e for e in extra if not e.startswith("-") and "\x00" not in e]
    if assume_no_option:
        with pytest.raises(PolicyDeniedError):
            check_filters([[*stage, *assume_no_option]])


CODE_PLACES = [
    "{}",
    ".a | {}",
    "[.[] | {}]",
    '"text \\({})"',
    '"a\\(.b)c\\({} | tostring)"',
    "def f: {}; f",
    "f(1; {})",
    "{{a: {}}}",
    "if . then {} else . end",
    ". as $x | {}",
    "({})",
    "# comment\n{}",
    "[1,\n{}]",
]
DATA_PLACES = [
    ".{}",
    ".a.{}",
    '"{}"',
    "{{{}: 1}}",
    "{{a: 1, {}: 2}}",
    '."{}"',
    '.["{}"]',
    "# {}\n.",
]


@SETTINGS
@given(st.sampled_from(sorted(REFUSED)), st.sampled_from(CODE_PLACES))
def test_a_refused_jq_name_as_code_never_passes(name, place):
    with pytest.raises(PolicyDeniedError):
        check_program(place.format(name))


@SETTINGS
@given(
    st.sampled_from(sorted(n for n in REFUSED if not n.startswith("$"))),
    st.sampled_from(DATA_PLACES),
)
def test_a_refused_jq_name_as_data_passes(name, place):
    check_program(place.format(name))


@pytest.mark.parametrize(
    ("command", "cli", "stages"),
    [
        ("get pods", "get pods", []),
        ("get pods -A | grep CrashLoop", "get pods -A ", [["grep", "CrashLoop"]]),
        ("get pods|grep x|wc -l", "get pods", [["grep", "x"], ["wc", "-l"]]),
        ("get pods | grep 'a|b'", "get pods ", [["grep", "a|b"]]),
        ('get pods | grep "a|b"', "get pods ", [["grep", "a|b"]]),
        ("get pods | grep a\\|b", "get pods ", [["grep", "a|b"]]),
        (
            "get pods -o jsonpath='{.items[*].x}|' | wc",
            "get pods -o jsonpath='{.items[*].x}|' ",
            [["wc"]],
        ),
        ("get pods || id", "get pods || id", []),
        ("get pods |& id", "get pods |& id", []),
        (["get", "pods", "|", "grep", "x"], ["get", "pods"], [["grep", "x"]]),
        (["get", "pods", "a|b"], ["get", "pods", "a|b"], []),
    ],
)
def test_split_pipeline(command, cli, stages):
    assert split_pipeline(command) == (cli, stages)


def test_a_stage_with_open_quotes_is_a_clear_error():
    with pytest.raises(InvalidCommandError, match="pipe stage"):
        split_pipeline("get pods | grep 'x")


WORDS = st.lists(
    st.text(alphabet=st.sampled_from(list("ab|&;'\" $\\-{}.")), min_size=1, max_size=8),
    min_size=1,
    max_size=4,
)


@SETTINGS
@given(WORDS, st.lists(WORDS, max_size=3))
def test_only_unquoted_bars_split_and_every_word_survives(cli, stages):
    command = " | ".join(shlex.join(words) for words in (cli, *stages))
    head, found = split_pipeline(command)
    assert shlex.split(head) == cli
    assert found == stages
