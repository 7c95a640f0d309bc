//! `userbpf asm FILE [-o OUT]`: assemble text into bytecode.

use std::path::Path;

use anyhow::{anyhow, Context};

use super::read_file;
use crate::{CmdResult, Failure};

pub fn run(file: &Path, output: Option<&Path>) -> CmdResult {
    let bytes = read_file(file)?;
    let text = String::from_utf8(bytes)
        .map_err(|e| Failure::input(anyhow!("{}: not UTF-8 text: {e}", file.display())))?;
    let insns = userbpf_isa::asm::assemble(&text)
        .map_err(|e| Failure::input(anyhow!("{}: {e}", file.display())))?;
    let code = userbpf_isa::encode_program(&insns);
    match output {
        Some(out) => std::fs::write(out, &code)
            .with_context(|| format!("cannot write {}", out.display()))
            .map_err(Failure::input)?,
        None => {
            for slot in code.chunks_exact(8) {
                println!("{}", crate::hex::encode(slot));
            }
        }
    }
    Ok(())
}
