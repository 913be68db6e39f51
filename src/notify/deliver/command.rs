//! The command channel: argv run without a shell, the event's JSON on its standard
//! input; exit status 0 is delivered.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long a command may run before it is killed and counted as failed.
pub const TIMEOUT: Duration = Duration::from_secs(60);

pub fn run(argv: &[String], stdin: &[u8], timeout: Duration) -> Result<(), String> {
    let (program, args) = argv.split_first().ok_or("the command is empty")?;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|err| format!("cannot start {program}: {err}"))?;
    if let Some(mut input) = child.stdin.take() {
        // A command that does not read its input is not an error in itself.
        let _ = input.write_all(stdin);
    }
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => {
                let mut err = String::new();
                if let Some(mut stderr) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut stderr, &mut err);
                }
                let tail: String = err
                    .chars()
                    .rev()
                    .take(500)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                return Err(format!("{program} failed ({status}): {}", tail.trim()));
            }
            Ok(None) if started.elapsed() >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{program} ran longer than {}s and was killed",
                    timeout.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(err) => return Err(format!("cannot wait for {program}: {err}")),
        }
    }
}
