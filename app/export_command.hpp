#pragma once
// The `channeldeck export` subcommand (see export_command.cpp). Main thread.
namespace cdeck::app {
// argv[1] is "export". Returns the process exit code: 0, 1 (not found, I/O) or 2 (usage).
int RunExport(int argc, char** argv);
}  // namespace cdeck::app
