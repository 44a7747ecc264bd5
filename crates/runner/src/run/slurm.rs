//! Slurm job-array scripts for `fmseg sweep --slurm`.
//!
//! [`job_array_script`] turns the cells of an experiment into the text of one bash script that,
//! submitted with `sbatch SCRIPT`, runs array task `i` as
//! `fmseg run EXPERIMENT --out OUT --cell CELLS[i]`. Every path and cell id is shell-quoted with
//! [`shell_quote`], and every value on an `#SBATCH` line is quoted the way `sbatch` parses those
//! lines, so paths with spaces, quotes or `%` work. Nothing merges the results after the last
//! task: the user runs `fmseg collect OUT` (the script says so in its header).
//!
//! The `#SBATCH` lines come straight after the header comment: `sbatch` stops reading directives
//! at the first command, so `set -euo pipefail` follows them rather than preceding them.
//! Slurm does not create the folder of `--output`/`--error`; the caller creates
//! [`log_dir`]`(OUT)` before submitting.

use std::path::{Path, PathBuf};

/// Options of `fmseg sweep --slurm`, written as `#SBATCH` lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlurmOptions {
    /// `--job-name`, e.g. the experiment name (must be non-empty, without control characters).
    pub job_name: String,
    /// `--partition` (a partition name or a comma-separated list of them).
    pub partition: Option<String>,
    /// `--gpus-per-task N`, written as `#SBATCH --gpus-per-task=N` (N ≥ 1).
    pub gpus_per_task: Option<u32>,
    /// `--time T`, in one of Slurm's formats `M`, `M:S`, `H:M:S`, `D-H`, `D-H:M`, `D-H:M:S`
    /// (or `INFINITE`/`UNLIMITED`).
    pub time: Option<String>,
    /// `--cpus-per-task N` (N ≥ 1).
    pub cpus_per_task: Option<u32>,
    /// `--mem`, a whole number with an optional unit `K`, `M`, `G` or `T`, e.g. `32G`.
    pub mem: Option<String>,
    /// Array throttle: at most this many tasks run at once (`--array=0-(n-1)%P`, P ≥ 1).
    pub max_parallel: Option<u32>,
    /// Extra directives, one per line, written verbatim; `#SBATCH ` is prepended to those that
    /// do not already start with `#SBATCH`. They must not contain a line break.
    pub extra_sbatch: Vec<String>,
}

/// What the job-array script runs.
#[derive(Debug, Clone, Copy)]
pub struct SweepPlan<'a> {
    /// The `fmseg` binary (absolute; written into the script shell-quoted).
    pub fmseg: &'a Path,
    /// The experiment YAML (absolute).
    pub experiment: &'a Path,
    /// The results folder (absolute); Slurm logs go to [`log_dir`]`(out)`.
    pub out: &'a Path,
    /// Cell ids in array-index order: task `i` runs `cells[i]`.
    pub cells: &'a [String],
    /// Extra environment variables the script exports before running `fmseg`
    /// (`FMSEG_DEVICE` when `fmseg sweep --device` is given).
    pub env: &'a [(String, String)],
}

/// Why no script could be written.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SlurmError {
    /// The sweep has no cells, so there is no job array to submit.
    #[error("the sweep has no cells: there is nothing to submit to Slurm")]
    NoCells,
    /// An option, path, cell id or environment variable cannot be written into the script.
    #[error("invalid {option} {value:?}: {reason}")]
    BadOption {
        /// The option at fault, e.g. `--time`.
        option: String,
        /// The value given.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
}

fn bad(option: &str, value: &str, reason: impl Into<String>) -> SlurmError {
    SlurmError::BadOption {
        option: option.to_owned(),
        value: value.to_owned(),
        reason: reason.into(),
    }
}

/// Quotes `s` for bash: wraps it in single quotes, writing each embedded `'` as `'\''`.
///
/// The result is always quoted (`''` for the empty string), so it is one word to the shell
/// whatever `s` holds, and nothing in it is expanded.
pub fn shell_quote(s: &str) -> String {
    let mut quoted = String::with_capacity(s.len() + 2);
    quoted.push('\'');
    for c in s.chars() {
        if c == '\'' {
            quoted.push_str("'\\''");
        } else {
            quoted.push(c);
        }
    }
    quoted.push('\'');
    quoted
}

/// The folder that receives the Slurm logs of a sweep writing to `out`: `OUT/slurm`.
///
/// Slurm does not create it; create it before `sbatch SCRIPT`.
pub fn log_dir(out: &Path) -> PathBuf {
    out.join("slurm")
}

/// Quotes a value for an `#SBATCH` line: `sbatch` groups characters within double quotes and
/// takes the character after a backslash literally, so `"` and `\` are backslash-escaped.
fn sbatch_quote(s: &str) -> String {
    let mut quoted = String::with_capacity(s.len() + 2);
    quoted.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    quoted
}

/// Escapes `%` for a Slurm filename pattern (`%%` stands for a literal `%`).
fn escape_filename_pattern(s: &str) -> String {
    s.replace('%', "%%")
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Whether `time` is in one of Slurm's `--time` formats.
fn valid_time(time: &str) -> bool {
    if time.eq_ignore_ascii_case("infinite") || time.eq_ignore_ascii_case("unlimited") {
        return true;
    }
    let clock = match time.split_once('-') {
        Some((days, clock)) => {
            if !all_digits(days) {
                return false;
            }
            clock
        }
        None => time,
    };
    let parts: Vec<&str> = clock.split(':').collect();
    parts.len() <= 3 && parts.iter().all(|part| all_digits(part))
}

fn valid_mem(mem: &str) -> bool {
    let digits = mem
        .strip_suffix(['K', 'M', 'G', 'T', 'k', 'm', 'g', 't'])
        .unwrap_or(mem);
    all_digits(digits)
}

fn valid_partition(partition: &str) -> bool {
    !partition.is_empty()
        && !partition.starts_with(',')
        && !partition.ends_with(',')
        && !partition.contains(",,")
        && partition
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b','))
}

fn valid_env_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn positive(option: &str, value: Option<u32>) -> Result<(), SlurmError> {
    match value {
        Some(0) => Err(bad(option, "0", "must be at least 1")),
        _ => Ok(()),
    }
}

/// An absolute, UTF-8 path without line breaks, as text.
fn script_path<'p>(option: &str, path: &'p Path) -> Result<&'p str, SlurmError> {
    let shown = path.to_string_lossy();
    let text = path
        .to_str()
        .ok_or_else(|| bad(option, &shown, "is not valid UTF-8"))?;
    if !path.is_absolute() {
        return Err(bad(option, text, "must be an absolute path"));
    }
    if text.contains(['\n', '\r', '\0']) {
        return Err(bad(option, text, "must not contain a line break"));
    }
    Ok(text)
}

/// The `#SBATCH` directives other than `--array`, `--output` and `--error`.
fn option_directives(options: &SlurmOptions) -> Result<Vec<String>, SlurmError> {
    let mut lines = Vec::new();
    let name = &options.job_name;
    if name.is_empty() {
        return Err(bad("--job-name", name, "must not be empty"));
    }
    if name.chars().any(char::is_control) {
        return Err(bad(
            "--job-name",
            name,
            "must not contain control characters",
        ));
    }
    lines.push(format!("#SBATCH --job-name={}", sbatch_quote(name)));

    if let Some(partition) = &options.partition {
        if !valid_partition(partition) {
            return Err(bad(
                "--partition",
                partition,
                "expected partition names (letters, digits, '_', '-', '.') separated by commas",
            ));
        }
        lines.push(format!("#SBATCH --partition={partition}"));
    }
    positive("--gpus-per-task", options.gpus_per_task)?;
    if let Some(gpus) = options.gpus_per_task {
        lines.push(format!("#SBATCH --gpus-per-task={gpus}"));
    }
    if let Some(time) = &options.time {
        if !valid_time(time) {
            return Err(bad(
                "--time",
                time,
                "expected M, M:S, H:M:S, D-H, D-H:M or D-H:M:S (whole numbers)",
            ));
        }
        lines.push(format!("#SBATCH --time={time}"));
    }
    positive("--cpus-per-task", options.cpus_per_task)?;
    if let Some(cpus) = options.cpus_per_task {
        lines.push(format!("#SBATCH --cpus-per-task={cpus}"));
    }
    if let Some(mem) = &options.mem {
        if !valid_mem(mem) {
            return Err(bad(
                "--mem",
                mem,
                "expected a whole number with an optional unit K, M, G or T, e.g. 32G",
            ));
        }
        lines.push(format!("#SBATCH --mem={mem}"));
    }
    for extra in &options.extra_sbatch {
        if extra.contains(['\n', '\r', '\0']) {
            return Err(bad(
                "--sbatch",
                extra,
                "an extra #SBATCH line must not contain a line break",
            ));
        }
        let directive = extra.trim();
        if directive.is_empty() {
            return Err(bad(
                "--sbatch",
                extra,
                "an extra #SBATCH line must not be empty",
            ));
        }
        if directive.starts_with("#SBATCH") {
            lines.push(directive.to_owned());
        } else {
            lines.push(format!("#SBATCH {directive}"));
        }
    }
    Ok(lines)
}

/// The text of a Slurm job-array script running one `fmseg run` per cell of `plan`.
///
/// The script has a bash shebang; a header comment saying how to submit it (`sbatch SCRIPT`)
/// and that nothing merges the results (run `fmseg collect OUT` after the last task); the
/// `#SBATCH` lines (`--job-name`, `--array=0-(n-1)[%P]`, `--output`/`--error` as
/// `OUT/slurm/%A_%a.out`/`.err`, then partition, GPUs, time, CPUs, memory and the extra lines);
/// `set -euo pipefail`; the exported environment variables; a bash array `CELLS=(...)`; a guard
/// that exits with status 2 and a message on stderr unless `SLURM_ARRAY_TASK_ID` is set and an
/// index of `CELLS`; and finally
/// `exec FMSEG run EXPERIMENT --out OUT --cell "${CELLS[$SLURM_ARRAY_TASK_ID]}"`.
///
/// # Errors
///
/// [`SlurmError::NoCells`] when `plan.cells` is empty; [`SlurmError::BadOption`] naming the
/// option when an option is malformed (a `--time` outside Slurm's formats, zero GPUs, CPUs or
/// parallel tasks, a line break in an extra line, ...), when a path is relative, not UTF-8 or
/// holds a line break (or, for `--out`, a backslash), when a cell id is empty or holds a NUL,
/// or when an environment variable has a name that is not a shell identifier or a value
/// holding a NUL.
pub fn job_array_script(
    options: &SlurmOptions,
    plan: &SweepPlan<'_>,
) -> Result<String, SlurmError> {
    if plan.cells.is_empty() {
        return Err(SlurmError::NoCells);
    }
    let fmseg = script_path("fmseg binary", plan.fmseg)?;
    let experiment = script_path("experiment", plan.experiment)?;
    let out = script_path("--out", plan.out)?;
    if out.contains('\\') {
        // Slurm turns off the %A/%a replacement in --output/--error names holding a backslash.
        return Err(bad(
            "--out",
            out,
            "must not contain a backslash (Slurm log names)",
        ));
    }
    for cell in plan.cells {
        if cell.is_empty() {
            return Err(bad("--cell", cell, "a cell id must not be empty"));
        }
        if cell.contains('\0') {
            return Err(bad(
                "--cell",
                cell,
                "a cell id must not contain a NUL character",
            ));
        }
    }
    for (name, value) in plan.env {
        if !valid_env_name(name) {
            return Err(bad(
                "environment variable",
                name,
                "expected a name of letters, digits and '_', not starting with a digit",
            ));
        }
        if value.contains('\0') {
            return Err(bad(
                "environment variable",
                name,
                "the value must not contain a NUL character",
            ));
        }
    }
    positive("--max-parallel", options.max_parallel)?;
    let directives = option_directives(options)?;

    let last = plan.cells.len() - 1;
    let array = match options.max_parallel {
        Some(parallel) => format!("0-{last}%{parallel}"),
        None => format!("0-{last}"),
    };
    let log_base = {
        let trimmed = out.trim_end_matches('/');
        format!("{}/slurm/%A_%a", escape_filename_pattern(trimmed))
    };
    let q_fmseg = shell_quote(fmseg);
    let q_experiment = shell_quote(experiment);
    let q_out = shell_quote(out);

    let log_folder = shell_quote(&format!("{}/slurm", out.trim_end_matches('/')));
    let mut lines: Vec<String> = vec![
        "#!/bin/bash".to_owned(),
        format!(
            "# Slurm job array generated by `fmseg sweep --slurm`: {} cells.",
            last + 1
        ),
        "# Submit it with:  sbatch SCRIPT".to_owned(),
        format!("# (create the log folder first:  mkdir -p {log_folder})"),
        "# Array task i runs `fmseg run EXPERIMENT --out OUT --cell CELLS[i]`.".to_owned(),
        "# Nothing merges the results after the last task; once all tasks are done, run:"
            .to_owned(),
        format!("#   {q_fmseg} collect {q_out}"),
        "# (The #SBATCH lines precede every command: sbatch stops reading them at the first.)"
            .to_owned(),
    ];
    let mut directives = directives.into_iter();
    lines.extend(directives.next()); // --job-name
    lines.push(format!("#SBATCH --array={array}"));
    lines.push(format!(
        "#SBATCH --output={}",
        sbatch_quote(&format!("{log_base}.out"))
    ));
    lines.push(format!(
        "#SBATCH --error={}",
        sbatch_quote(&format!("{log_base}.err"))
    ));
    lines.extend(directives);
    lines.push(String::new());
    lines.push("set -euo pipefail".to_owned());
    lines.push(String::new());
    for (name, value) in plan.env {
        lines.push(format!("export {name}={}", shell_quote(value)));
    }
    lines.push("CELLS=(".to_owned());
    for cell in plan.cells {
        lines.push(format!("  {}", shell_quote(cell)));
    }
    lines.push(")".to_owned());
    lines.push(String::new());
    lines.extend(
        [
            "if [[ -z \"${SLURM_ARRAY_TASK_ID:-}\" ]]; then",
            "  printf '%s\\n' 'fmseg sweep: SLURM_ARRAY_TASK_ID is not set; this is a Slurm \
             job-array script, submit it with: sbatch SCRIPT' >&2",
            "  exit 2",
            "fi",
            "if ! [[ \"$SLURM_ARRAY_TASK_ID\" =~ ^(0|[1-9][0-9]{0,8})$ ]] \\",
            "  || (( SLURM_ARRAY_TASK_ID >= ${#CELLS[@]} )); then",
        ]
        .map(str::to_owned),
    );
    lines.push(format!(
        "  printf 'fmseg sweep: SLURM_ARRAY_TASK_ID=%s is out of range: this job array has \
         tasks 0-{last}\\n' \"$SLURM_ARRAY_TASK_ID\" >&2"
    ));
    lines.push("  exit 2".to_owned());
    lines.push("fi".to_owned());
    lines.push(String::new());
    lines.push(format!(
        "exec {q_fmseg} run {q_experiment} --out {q_out} --cell \
         \"${{CELLS[$SLURM_ARRAY_TASK_ID]}}\""
    ));
    lines.push(String::new());
    Ok(lines.join("\n"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::fs;
    use std::process::{Command, Output};

    fn have_bash() -> bool {
        let found = Command::new("bash").arg("--version").output().is_ok();
        if !found {
            println!("skipped: bash is not installed");
        }
        found
    }

    fn options() -> SlurmOptions {
        SlurmOptions {
            job_name: "toy experiment".to_owned(),
            ..SlurmOptions::default()
        }
    }

    fn cells(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|id| (*id).to_owned()).collect()
    }

    fn plan<'a>(cells: &'a [String], env: &'a [(String, String)]) -> SweepPlan<'a> {
        SweepPlan {
            fmseg: Path::new("/opt/fmseg/bin/fmseg"),
            experiment: Path::new("/data/exp.yaml"),
            out: Path::new("/data/results"),
            cells,
            env,
        }
    }

    #[cfg(unix)]
    fn write_executable(path: &Path, text: &str) {
        use std::os::unix::fs::PermissionsExt;
        fs::write(path, text).unwrap();
        fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn bad_option(result: Result<String, SlurmError>) -> (String, String) {
        match result {
            Err(SlurmError::BadOption { option, value, .. }) => (option, value),
            other => panic!("expected BadOption, got {other:?}"),
        }
    }

    #[test]
    fn shell_quote_handles_quotes_and_empty() {
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote("$HOME `x` \"y\""), "'$HOME `x` \"y\"'");
    }

    #[test]
    fn shell_quote_round_trips_through_bash() {
        if !have_bash() {
            return;
        }
        for s in [
            "",
            "plain",
            "it's",
            "''",
            "a b\tc",
            "$(echo no) `no` \"q\" \\ * ?",
            "x\ny",
        ] {
            let out = Command::new("bash")
                .arg("-c")
                .arg(format!("printf '%s' {}", shell_quote(s)))
                .output()
                .unwrap();
            assert!(out.status.success());
            assert_eq!(String::from_utf8(out.stdout).unwrap(), s);
        }
    }

    #[test]
    fn script_has_directives_before_commands() {
        let ids = cells(&["a1", "b2", "c3"]);
        let env = vec![("FMSEG_DEVICE".to_owned(), "cuda:0".to_owned())];
        let opts = SlurmOptions {
            partition: Some("gpu".to_owned()),
            gpus_per_task: Some(1),
            time: Some("1-02:00:00".to_owned()),
            cpus_per_task: Some(8),
            mem: Some("32G".to_owned()),
            max_parallel: Some(2),
            extra_sbatch: vec!["--account=lab".to_owned(), "#SBATCH --qos=short".to_owned()],
            ..options()
        };
        let script = job_array_script(&opts, &plan(&ids, &env)).unwrap();
        let lines: Vec<&str> = script.lines().collect();
        assert_eq!(lines[0], "#!/bin/bash");
        let first_command = lines
            .iter()
            .position(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .unwrap();
        assert_eq!(lines[first_command], "set -euo pipefail");
        let directives: Vec<&str> = lines
            .iter()
            .copied()
            .filter(|l| l.starts_with("#SBATCH"))
            .collect();
        assert!(
            lines[..first_command]
                .iter()
                .filter(|l| l.starts_with("#SBATCH"))
                .count()
                > 0
        );
        assert!(
            lines[first_command..]
                .iter()
                .all(|l| !l.starts_with("#SBATCH"))
        );
        for expected in [
            "#SBATCH --job-name=\"toy experiment\"",
            "#SBATCH --array=0-2%2",
            "#SBATCH --output=\"/data/results/slurm/%A_%a.out\"",
            "#SBATCH --error=\"/data/results/slurm/%A_%a.err\"",
            "#SBATCH --partition=gpu",
            "#SBATCH --gpus-per-task=1",
            "#SBATCH --time=1-02:00:00",
            "#SBATCH --cpus-per-task=8",
            "#SBATCH --mem=32G",
            "#SBATCH --account=lab",
            "#SBATCH --qos=short",
        ] {
            assert!(
                directives.contains(&expected),
                "missing {expected:?} in\n{script}"
            );
        }
        assert!(script.contains("export FMSEG_DEVICE='cuda:0'"));
        assert!(script.contains("sbatch SCRIPT"));
        assert!(script.contains("collect '/data/results'"));
        assert!(script.contains(
            "exec '/opt/fmseg/bin/fmseg' run '/data/exp.yaml' --out '/data/results' --cell \
             \"${CELLS[$SLURM_ARRAY_TASK_ID]}\""
        ));
    }

    #[test]
    fn array_without_throttle_and_sbatch_quoting_of_odd_paths() {
        let ids = cells(&["only"]);
        let p = SweepPlan {
            out: Path::new("/r \"x\"/100%/"),
            ..plan(&ids, &[])
        };
        let script = job_array_script(&options(), &p).unwrap();
        assert!(script.contains("#SBATCH --array=0-0\n"));
        assert!(script.contains("#SBATCH --output=\"/r \\\"x\\\"/100%%/slurm/%A_%a.out\""));
    }

    #[test]
    fn bash_n_accepts_the_script() {
        if !have_bash() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let ids = cells(&["00ff", "it's", "a b"]);
        let env = vec![("FMSEG_DEVICE".to_owned(), "cu'da $x".to_owned())];
        let root = dir.path().join("we'ird dir");
        let (fmseg, experiment, out) = (
            root.join("fm seg"),
            root.join("e x'p.yaml"),
            root.join("o\"u t"),
        );
        let p = SweepPlan {
            fmseg: &fmseg,
            experiment: &experiment,
            out: &out,
            cells: &ids,
            env: &env,
        };
        let opts = SlurmOptions {
            max_parallel: Some(4),
            time: Some("30".to_owned()),
            ..options()
        };
        let file = dir.path().join("job.sh");
        fs::write(&file, job_array_script(&opts, &p).unwrap()).unwrap();
        let status = Command::new("bash").arg("-n").arg(&file).status().unwrap();
        assert!(status.success());
    }

    #[cfg(unix)]
    struct FakeCluster {
        _dir: tempfile::TempDir,
        bin: PathBuf,
        fmseg: PathBuf,
        experiment: PathBuf,
        out: PathBuf,
        log: PathBuf,
        script: PathBuf,
    }

    #[cfg(unix)]
    const FAKE_SBATCH: &str = r#"#!/bin/bash
# Fake sbatch: reads the #SBATCH --array line (directives end at the first command, as in
# Slurm) and runs every array task in turn.
set -euo pipefail
script="$1"
spec=$(awk '/^#SBATCH --array=/ { sub(/^#SBATCH --array=/, ""); print; exit }
            !/^#/ && !/^[[:space:]]*$/ { exit }' "$script")
if [[ -z "$spec" ]]; then echo "fake sbatch: no --array directive" >&2; exit 1; fi
printf '%s\n' "$spec" > "$FAKE_ARRAY_SPEC"
range="${spec%%\%*}"
lo="${range%-*}"
hi="${range#*-}"
for ((i = lo; i <= hi; i++)); do
  SLURM_ARRAY_JOB_ID=4242 SLURM_ARRAY_TASK_ID="$i" bash "$script"
done
"#;

    #[cfg(unix)]
    const FAKE_FMSEG: &str = r#"#!/bin/bash
# Fake fmseg: logs its arguments, one call a line; insists on exactly six arguments.
if [[ $# -ne 6 ]]; then echo "fake fmseg: got $# arguments" >&2; exit 3; fi
printf '%s\n' "$*" >> "$FAKE_FMSEG_LOG"
"#;

    #[cfg(unix)]
    fn fake_cluster() -> FakeCluster {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("fakebin");
        let root = dir.path().join("it's a dir");
        let tools = root.join("bin with space");
        fs::create_dir_all(&bin).unwrap();
        fs::create_dir_all(&tools).unwrap();
        let fmseg = tools.join("fmseg");
        write_executable(&bin.join("sbatch"), FAKE_SBATCH);
        write_executable(&fmseg, FAKE_FMSEG);
        FakeCluster {
            experiment: root.join("exp 'one'.yaml"),
            out: root.join("res ults's"),
            log: dir.path().join("fmseg calls.log"),
            script: root.join("job array.sh"),
            bin,
            fmseg,
            _dir: dir,
        }
    }

    #[cfg(unix)]
    fn submit(cluster: &FakeCluster, opts: &SlurmOptions, ids: &[String]) -> Output {
        let env = vec![(
            "FAKE_FMSEG_LOG".to_owned(),
            cluster.log.to_str().unwrap().to_owned(),
        )];
        let p = SweepPlan {
            fmseg: &cluster.fmseg,
            experiment: &cluster.experiment,
            out: &cluster.out,
            cells: ids,
            env: &env,
        };
        fs::write(&cluster.script, job_array_script(opts, &p).unwrap()).unwrap();
        let path = std::env::var("PATH").unwrap_or_default();
        Command::new("sbatch")
            .arg(&cluster.script)
            .env("PATH", format!("{}:{path}", cluster.bin.display()))
            .env("FAKE_ARRAY_SPEC", cluster.bin.join("array spec"))
            .output()
            .unwrap()
    }

    #[cfg(unix)]
    #[test]
    fn fake_sbatch_runs_every_cell_in_order() {
        if !have_bash() {
            return;
        }
        let cluster = fake_cluster();
        let ids = cells(&["3fa9c1", "it's odd", "$(touch pwned) *", "0b12"]);
        let output = submit(&cluster, &options(), &ids);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let log = fs::read_to_string(&cluster.log).unwrap();
        let calls: Vec<&str> = log.lines().collect();
        let expected: Vec<String> = ids
            .iter()
            .map(|cell| {
                format!(
                    "run {} --out {} --cell {cell}",
                    cluster.experiment.display(),
                    cluster.out.display()
                )
            })
            .collect();
        assert_eq!(calls, expected);
        let spec = fs::read_to_string(cluster.bin.join("array spec")).unwrap();
        assert_eq!(spec.trim(), "0-3");
    }

    #[cfg(unix)]
    #[test]
    fn fake_sbatch_sees_the_throttle() {
        if !have_bash() {
            return;
        }
        let cluster = fake_cluster();
        let ids = cells(&["a", "b", "c"]);
        let opts = SlurmOptions {
            max_parallel: Some(2),
            ..options()
        };
        let output = submit(&cluster, &opts, &ids);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let spec = fs::read_to_string(cluster.bin.join("array spec")).unwrap();
        assert_eq!(spec.trim(), "0-2%2");
        let script = fs::read_to_string(&cluster.script).unwrap();
        assert!(script.contains("#SBATCH --array=0-2%2\n"));
        assert_eq!(fs::read_to_string(&cluster.log).unwrap().lines().count(), 3);
    }

    #[cfg(unix)]
    #[test]
    fn bad_task_ids_exit_2_with_a_message() {
        if !have_bash() {
            return;
        }
        let cluster = fake_cluster();
        let ids = cells(&["a", "b", "c"]);
        let output = submit(&cluster, &options(), &ids);
        assert!(output.status.success());
        fs::remove_file(&cluster.log).unwrap();
        let run = |task: Option<&str>| {
            let mut command = Command::new("bash");
            command
                .arg(&cluster.script)
                .env_remove("SLURM_ARRAY_TASK_ID");
            if let Some(task) = task {
                command.env("SLURM_ARRAY_TASK_ID", task);
            }
            command.output().unwrap()
        };
        for task in ["3", "17", "-1", "x", "01", "99999999999999999999"] {
            let output = run(Some(task));
            assert_eq!(output.status.code(), Some(2), "task {task}");
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(
                stderr.contains(&format!("SLURM_ARRAY_TASK_ID={task} is out of range"))
                    && stderr.contains("tasks 0-2"),
                "task {task}: {stderr}"
            );
        }
        let output = run(None);
        assert_eq!(output.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&output.stderr).contains("SLURM_ARRAY_TASK_ID is not set"));
        assert!(!cluster.log.exists(), "fmseg ran for a bad task id");
        let output = run(Some("2"));
        assert!(output.status.success());
        assert!(
            fs::read_to_string(&cluster.log)
                .unwrap()
                .ends_with("--cell c\n")
        );
    }

    #[test]
    fn no_cells_is_an_error() {
        let ids: Vec<String> = Vec::new();
        assert_eq!(
            job_array_script(&options(), &plan(&ids, &[])),
            Err(SlurmError::NoCells)
        );
    }

    #[test]
    fn time_formats() {
        for good in [
            "30",
            "30:00",
            "2:30:00",
            "1-0",
            "1-12:30",
            "7-00:00:00",
            "INFINITE",
        ] {
            assert!(valid_time(good), "{good}");
        }
        for bad in [
            "",
            "1h",
            "1:2:3:4",
            "1-",
            "-1",
            "1-2-3",
            "1:",
            ":30",
            "1-2:3:4:5",
            "1.5",
        ] {
            assert!(!valid_time(bad), "{bad}");
        }
        let ids = cells(&["a"]);
        let opts = SlurmOptions {
            time: Some("2 hours".to_owned()),
            ..options()
        };
        let (option, value) = bad_option(job_array_script(&opts, &plan(&ids, &[])));
        assert_eq!((option.as_str(), value.as_str()), ("--time", "2 hours"));
    }

    #[test]
    fn bad_options_name_the_option() {
        let ids = cells(&["a"]);
        let check = |opts: SlurmOptions, option: &str| {
            let err = job_array_script(&opts, &plan(&ids, &[])).unwrap_err();
            assert!(err.to_string().contains(option), "{err}");
            let (named, _) = bad_option(Err(err));
            assert_eq!(named, option);
        };
        check(
            SlurmOptions {
                extra_sbatch: vec!["--account=lab\n#SBATCH --qos=x".to_owned()],
                ..options()
            },
            "--sbatch",
        );
        check(
            SlurmOptions {
                extra_sbatch: vec!["  ".to_owned()],
                ..options()
            },
            "--sbatch",
        );
        check(
            SlurmOptions {
                gpus_per_task: Some(0),
                ..options()
            },
            "--gpus-per-task",
        );
        check(
            SlurmOptions {
                cpus_per_task: Some(0),
                ..options()
            },
            "--cpus-per-task",
        );
        check(
            SlurmOptions {
                max_parallel: Some(0),
                ..options()
            },
            "--max-parallel",
        );
        check(
            SlurmOptions {
                mem: Some("32 GB".to_owned()),
                ..options()
            },
            "--mem",
        );
        check(
            SlurmOptions {
                partition: Some("gpu; rm".to_owned()),
                ..options()
            },
            "--partition",
        );
        check(
            SlurmOptions {
                job_name: String::new(),
                ..options()
            },
            "--job-name",
        );
    }

    #[test]
    fn bad_plans_are_rejected() {
        let ids = cells(&["a"]);
        let relative = SweepPlan {
            out: Path::new("results"),
            ..plan(&ids, &[])
        };
        assert_eq!(
            bad_option(job_array_script(&options(), &relative)).0,
            "--out"
        );
        let backslash = SweepPlan {
            out: Path::new("/r\\s"),
            ..plan(&ids, &[])
        };
        assert_eq!(
            bad_option(job_array_script(&options(), &backslash)).0,
            "--out"
        );
        let newline = SweepPlan {
            experiment: Path::new("/a\nb.yaml"),
            ..plan(&ids, &[])
        };
        assert_eq!(
            bad_option(job_array_script(&options(), &newline)).0,
            "experiment"
        );
        let env = vec![("1BAD".to_owned(), "x".to_owned())];
        assert_eq!(
            bad_option(job_array_script(&options(), &plan(&ids, &env))).0,
            "environment variable"
        );
        let empty = cells(&[""]);
        assert_eq!(
            bad_option(job_array_script(&options(), &plan(&empty, &[]))).0,
            "--cell"
        );
    }
}
