//! What runs hashbuy's real parts on this machine: a Lambda Runtime API that release
//! binaries poll as they would in Lambda, and the resources the deployment's template
//! would create, made on the AWS emulator (with the pollers that deliver its events), and
//! the capture of what those processes log.

pub mod emulator;
pub mod logs;
pub mod runtime_api;
