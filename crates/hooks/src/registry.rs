//! [`PluginRegistry`]: the built-in plugins, selected by the `hooks-libraries` file name, and
//! their loading into a [`Hooks`] set.
//!
//! Kea `dlopen`s each configured library, calls its `load()` and registers its callouts; on
//! reconfiguration it unloads every library and loads the new list. Nestor maps the file name
//! (`libdhcp_ha.so`, whatever the directory; `nestor_config` already refuses unknown names) to a
//! registered constructor, calls it with the library's entry and a [`ServerHandle`], and
//! registers the plugin's commands and `command_processed` hook.
//!
//! A name the configuration recognises may have no plugin in this build (the HA plugin before it
//! lands). The registry does not decide what that means: [`PluginRegistry::unavailable`] lists
//! such libraries so that the server can refuse the configuration or warn and go on without them
//! (answering their commands with Kea's "not supported"), and [`PluginRegistry::load`] refuses
//! them with [`PluginError::NotBuiltIn`] if the server passes them anyway.

use std::fmt;
use std::sync::Arc;

use nestor_config::common::{BuiltinHook, HookLibrary};
use nestor_ctrl::{Command, CommandHandler, HandlerFuture};

use crate::handle::ServerHandle;
use crate::hooks::{Hooks, Loaded, ProcessedHook};
use crate::plugin::{Plugin, PluginError};

/// Builds a plugin from its `hooks-libraries` entry; the handle carries the entry's
/// `parameters` as JSON ([`ServerHandle::parameters`]).
pub type PluginConstructor = fn(&HookLibrary, ServerHandle) -> Result<Arc<dyn Plugin>, PluginError>;

/// The plugins built into this server, by library.
#[derive(Clone, Default)]
pub struct PluginRegistry {
    constructors: Vec<(BuiltinHook, PluginConstructor)>,
}

impl fmt::Debug for PluginRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PluginRegistry")
            .field("available", &self.available())
            .finish()
    }
}

impl PluginRegistry {
    /// A registry with no plugin.
    pub fn new() -> Self {
        Self::default()
    }

    /// The same registry with `hook` built by `constructor`.
    #[must_use]
    pub fn with(mut self, hook: BuiltinHook, constructor: PluginConstructor) -> Self {
        self.register(hook, constructor);
        self
    }

    /// Registers (or replaces) the constructor of `hook`; returns the one replaced.
    pub fn register(
        &mut self,
        hook: BuiltinHook,
        constructor: PluginConstructor,
    ) -> Option<PluginConstructor> {
        match self.constructors.iter_mut().find(|(h, _)| *h == hook) {
            Some((_, existing)) => Some(std::mem::replace(existing, constructor)),
            None => {
                self.constructors.push((hook, constructor));
                None
            }
        }
    }

    /// Whether `hook` has a plugin in this build.
    pub fn is_available(&self, hook: BuiltinHook) -> bool {
        self.constructor(hook).is_some()
    }

    /// The library file names that have a plugin, in [`BuiltinHook::KNOWN`] order.
    pub fn available(&self) -> Vec<&'static str> {
        BuiltinHook::KNOWN
            .iter()
            .filter(|(_, hook)| self.is_available(*hook))
            .map(|(name, _)| *name)
            .collect()
    }

    /// The configured libraries that have no plugin in this build.
    pub fn unavailable<'a>(&self, libraries: &'a [HookLibrary]) -> Vec<&'a HookLibrary> {
        libraries
            .iter()
            .filter(|library| !self.is_available(library.hook))
            .collect()
    }

    fn constructor(&self, hook: BuiltinHook) -> Option<PluginConstructor> {
        self.constructors
            .iter()
            .find(|(h, _)| *h == hook)
            .map(|(_, constructor)| *constructor)
    }

    /// Loads `libraries` in order: constructs each plugin and registers its commands and its
    /// `command_processed` hook in `handle`'s registry. On the first failure, what was loaded is
    /// unloaded again and the error returned. The previous configuration's [`Hooks`] must be
    /// unloaded first (their commands would collide).
    pub fn load(
        &self,
        libraries: &[HookLibrary],
        handle: &ServerHandle,
        parked_packet_limit: u32,
    ) -> Result<Hooks, PluginError> {
        let registry = Arc::clone(handle.commands());
        let mut hooks = Hooks::new(Vec::new(), Some(Arc::clone(&registry)), parked_packet_limit);
        for library in libraries {
            let constructor =
                self.constructor(library.hook)
                    .ok_or_else(|| PluginError::NotBuiltIn {
                        library: library.library.clone(),
                    })?;
            let plugin = constructor(library, handle.for_library(library))?;
            let mut loaded = Loaded {
                plugin: Arc::clone(&plugin),
                commands: Vec::new(),
                processed_hook: None,
            };
            for (command, handler) in plugin.commands() {
                if let Err(source) = registry.register(command, SharedHandler(handler)) {
                    // Undo this plugin's registrations through the set, then the others'.
                    hooks.push(loaded);
                    return Err(PluginError::Command {
                        library: plugin.library(),
                        command,
                        source,
                    });
                }
                loaded.commands.push(command);
            }
            loaded.processed_hook =
                Some(registry.add_processed_hook(ProcessedHook(Arc::downgrade(&plugin))));
            tracing::info!(library = %library.library, "HOOKS_LIBRARY_LOADED");
            hooks.push(loaded);
        }
        Ok(hooks)
    }
}

/// A plugin's handler, shared with the plugin.
struct SharedHandler(Arc<dyn CommandHandler>);

impl CommandHandler for SharedHandler {
    fn handle(&self, command: Command) -> HandlerFuture {
        self.0.handle(command)
    }
}
