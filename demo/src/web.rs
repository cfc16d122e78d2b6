//! The demo on the browser runtime (feature `web`): its runtime type and generated traffic.

use eventline_web::Runtime;
use eventline_web::app_store::AppStore;
use eventline_web::env::BrowserEnv;

use crate::app::DemoApp;
#[cfg(feature = "generate")]
pub use generate::generate;

/// The demo's application as the browser runs it.
pub type BrowserDemo = DemoApp<AppStore, BrowserEnv>;

/// One database of the demo, run in this tab.
pub type DemoRuntime = Runtime<BrowserDemo>;

#[cfg(feature = "generate")]
mod generate {
    use eventline_core::app::Application;
    use eventline_core::handler::CommandMeta;
    use eventline_core::ids::Position;
    use eventline_core::store::EventStore;
    use eventline_web::Failure;
    use eventline_web::env::new_command_id;
    use eventline_web::runtime::ImportReport;
    use eventline_web::tabs::sleep;

    use eventline_web::Runtime;
    use eventline_web::app_store::AppStore;
    use eventline_web::env::BrowserEnv;

    use crate::command::DemoCommand;
    use crate::generate::Generator;

    /// Makes `count` random valid commands (seeded by `seed`) and appends what they decide: first
    /// decided on a scratch log in memory (a command the domain refuses is dropped and another
    /// tried, and the saga runs there too), then appended in big batches. Ids are prefixed so they
    /// do not meet existing data.
    ///
    /// Generic, though only the demo's application (`DemoRuntime`) has its commands: so it is
    /// compiled in the crate that calls it, with the runtime's and the application's code, which
    /// are then in the WebAssembly module once (a non-generic copy here compiled them twice,
    /// 19 KB of the demo page's .wasm, gzipped).
    pub async fn generate<A>(
        runtime: &Runtime<A>,
        count: u64,
        seed: u64,
        on_progress: &dyn Fn(u64, u64),
    ) -> Result<ImportReport, Failure>
    where
        A: Application<Command = DemoCommand, Store = AppStore, Env = BrowserEnv>,
    {
        if count == 0 || count > 200_000 {
            return Err(Failure::new("InvalidArgument", format!("generate 1 to 200000 commands; not {count}")));
        }
        let (app, log) = runtime.scratch();
        let mut generator = Generator::new(seed, &format!("g{}-", seed % 100_000));
        let (mut accepted, mut attempts) = (0u64, 0u64);
        while accepted < count && attempts < count * 4 {
            attempts += 1;
            let command = generator.next_command();
            if app.execute(CommandMeta::new(new_command_id()), &command).await.is_ok() {
                generator.accepted(&command);
                accepted += 1;
            }
            if attempts % 500 == 0 {
                on_progress(accepted, count * 2);
                runtime.tell_progress("deciding", accepted, count);
                sleep(0).await;
            }
        }
        for mut process in A::process_managers() {
            process.run_for(&app, usize::MAX).await.map_err(|e| Failure::new("InternalError", e.to_string()))?;
        }
        let events = log.read_all(Position::ZERO, usize::MAX).await?;
        let progress = |done: u64, total: u64| on_progress(count + done * count / total.max(1), count * 2);
        runtime.append_events(&events, "appending", &progress).await
    }
}
