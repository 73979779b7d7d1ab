#!/usr/bin/env python3
"""Write a store of N finished tasks for bench/list.sh and bench/memory.sh,
directly (no engine): tasks/<id>/description.json (schema 1.6), workflow.yml
and iterations/1/status.json, plus checkpoint.json for paused tasks.  The mix
is 60% COMPLETED, 25% FAILED, 15% PAUSED (retryable, with an auto-retry
scheduled).

    bench/gen_store.py STORE_DIR N [RUNNING_PERCENT]

With RUNNING_PERCENT, that share of the tasks (spread evenly) is ITERATING
instead: status.json "running", a container id, and an engine endpoint
nobody answers (unix:///nonexistent/engine.sock), so a listing does all its
local work for them and its engine attempt fails at once.
"""
import json
import os
import sys
import uuid

WORKFLOW = """version: '1.0'
name: swe
steps:
  - id: implement
    type: agent
    prompt: "{{inputs.description}}"
"""


def iso(ms):
    s, ms = divmod(ms, 1000)
    import time
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)) + ".%03dZ" % ms


def write(path, obj):
    with open(path, "w") as f:
        if isinstance(obj, str):
            f.write(obj)
        else:
            json.dump(obj, f, indent=2)
            f.write("\n")


def main():
    store, n = sys.argv[1], int(sys.argv[2])
    running_pct = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    tasks = os.path.join(store, "tasks")
    os.makedirs(tasks, exist_ok=True)
    base = 1_760_000_000_000
    for i in range(1, n + 1):
        d = os.path.join(tasks, str(i))
        it = os.path.join(d, "iterations", "1")
        os.makedirs(it, exist_ok=True)
        created = base + i * 60_000
        kind = i % 20
        status = "COMPLETED" if kind < 12 else "FAILED" if kind < 17 else "PAUSED"
        if running_pct and (i * running_pct) // 100 != ((i - 1) * running_pct) // 100:
            status = "ITERATING"
        t = {
            "id": i,
            "uuid": str(uuid.UUID(int=i)),
            "title": "Benchmark task %d: refactor the module and add tests" % i,
            "description": "Refactor module %d, keep the behaviour, add unit tests." % i,
            "inputs": {"description": "Refactor module %d" % i},
            "status": status,
            "createdAt": iso(created),
            "lastStatusCheck": iso(created + 600_000),
            "iterations": 1,
            "workflowName": "swe",
            "worktreePath": "%s/workspaces/%d" % (store, i),
            "branchName": "rover/task-%d" % i,
            "version": "1.6",
            "agent": "claude",
            "agentImage": "rover-agent-test:latest",
            "startedAt": iso(created + 1000),
            "containerId": uuid.UUID(int=i).hex * 2,
            "engine": {"kind": "docker", "endpoint": "unix:///run/rover-test/docker.sock"},
            "runningAt": iso(created + 1500),
        }
        st = {"taskId": str(i), "startedAt": iso(created + 1500),
              "updatedAt": iso(created + 600_000), "currentStep": "implement"}
        if status == "ITERATING":
            t.update(executionStatus="running",
                     engine={"kind": "docker", "endpoint": "unix:///nonexistent/engine.sock"})
            st.update(status="running", progress=40)
        elif status == "COMPLETED":
            t.update(completedAt=iso(created + 600_000), executionStatus="completed", exitCode=0)
            st.update(status="completed", progress=100, completedAt=iso(created + 600_000), exitCode=0)
        elif status == "FAILED":
            t.update(failedAt=iso(created + 600_000), executionStatus="failed", exitCode=1,
                     error="Workflow stopped due to step failure: Command exited with code 3")
            st.update(status="failed", progress=100, error=t["error"], exitCode=1)
        else:
            t.update(pausedAt=iso(created + 600_000), executionStatus="paused", exitCode=2,
                     pauseReason="retryable_error",
                     error="Claude AI usage limit reached. You've hit your limit",
                     autoRetry={"count": 1, "max": 5, "provider": "claude",
                                "nextRetryAt": iso(created + 4_200_000),
                                "lastAttemptAt": iso(created + 600_000)})
            st.update(status="paused", progress=50, error=t["error"], provider="claude",
                      pauseReason="retryable_error")
            write(os.path.join(it, "checkpoint.json"), {
                "version": 1, "workflowHash": "0" * 64, "seq": 1,
                "savedAt": iso(created + 600_000),
                "completedSteps": [], "loopProgress": {}, "pauseReason": "retryable_error"})
        write(os.path.join(d, "description.json"), t)
        write(os.path.join(d, "workflow.yml"), WORKFLOW)
        write(os.path.join(it, "status.json"), st)
    write(os.path.join(tasks, ".last-id"), "%d\n" % n)


if __name__ == "__main__":
    main()
