#!/usr/bin/env bats
# rover shell on Podman: a shell in the task's workspace, through a pseudo-terminal.
load shell_cases

setup() { shell_setup podman; }
teardown() { shell_teardown; }

@test "podman: a command typed in the shell runs in the workspace; its status is rover's" { case_shell_typed_command_runs_in_the_workspace; }
@test "podman: the container's terminal follows a resize" { case_shell_follows_a_resized_terminal; }
@test "podman: commands from a pipe, stdout and stderr apart; a command after --" { case_shell_reads_commands_from_a_pipe; }
@test "podman: the shell is confined like the task and sees none of the runner's files" { case_shell_is_confined_like_the_task; }
@test "podman: a shell beside a running task works in the same files, with a warning" { case_shell_beside_a_running_task; }
@test "podman: a signal ends the shell: terminal restored, container removed" { case_shell_ended_by_a_signal_cleans_up; }
@test "podman: a missing task, image, command or workspace is refused clearly" { case_shell_refuses_clearly; }
@test "podman: Ctrl+C goes to the container's shell, not to rover" { case_shell_ctrl_c_goes_to_the_container; }
@test "podman: a shell container left by a killed rover is removed by the next shell" { case_shell_left_by_a_killed_rover_is_reaped; }
