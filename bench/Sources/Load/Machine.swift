import CBenchUDP
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What the figures were measured on, and keeping this tool off the server's core.
enum Machine {
    /// CPU model, CPU count, memory and kernel, e.g. "AMD EPYC, 2 CPUs, 23.5 GiB, Linux 6.1.0".
    static func describe() -> String {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .flatMap { $0.split(separator: ":", maxSplits: 1).last }
            .map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown CPU"
        let memory = Double(ProcessInfo.processInfo.physicalMemory) / Double(1 << 30)
        var name = utsname()
        uname(&name)
        let release = withUnsafeBytes(of: &name.release) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        return String(format: "%@, %d CPUs, %.1f GiB, Linux %@", model, ProcessInfo.processInfo.activeProcessorCount,
                      memory, release)
    }

    /// Confines every thread of this process (and so the threads they start) to `cpus`.
    /// sched_setaffinity applies to one thread, so each task in /proc/self/task is set.
    static func pinThisProcess(to cpus: [Int]) -> Bool {
        let list = cpus.map { Int32($0) }
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        var ok = !tasks.isEmpty
        for task in tasks {
            guard let tid = Int32(task) else { continue }
            if list.withUnsafeBufferPointer({ sluice_bench_set_affinity(tid, $0.baseAddress, Int32($0.count)) }) != 0 {
                ok = false
            }
        }
        return ok
    }

    /// Jiffies CPU `cpu` spent in total and stolen by the hypervisor (/proc/stat: user nice
    /// system idle iowait irq softirq steal ...). Steal is time the VM wanted the CPU and another
    /// guest had it: on a shared machine it is what makes two runs disagree.
    static func cpuJiffies(_ cpu: Int) -> (total: Double, steal: Double) {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("cpu\(cpu) ") }) else { return (.nan, .nan) }
        let values = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard values.count >= 8 else { return (.nan, .nan) }
        return (values.prefix(8).reduce(0, +), values[7])
    }
}
