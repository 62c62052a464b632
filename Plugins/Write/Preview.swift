import Foundation
import TCCore
import TCImageIO
import TCPluginKit

/// Animated previews: GIF by our own encoder; MP4 through ffmpeg when it is on PATH.
enum Preview {
    static func write(_ frames: Tensor, to tmp: String, kind path: String, fps: Double) throws {
        switch (path as NSString).pathExtension.lowercased() {
        case "gif":
            let data = try GIFEncoder.encode(frames, delayCentiseconds: max(2, Int((100 / fps).rounded())))
            guard FileManager.default.createFile(atPath: tmp, contents: data) else {
                throw NodeError("\(path): cannot write the GIF preview")
            }
        case "mp4":
            try mp4(frames, to: tmp, path: path, fps: fps)
        default:
            throw NodeError("\(path): previews are .gif or .mp4")
        }
    }

    static func ffmpeg() -> String? {
        let dirs = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
        return dirs.map { "\($0)/ffmpeg" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static func mp4(_ frames: Tensor, to tmp: String, path: String, fps: Double) throws {
        guard let exe = ffmpeg() else {
            throw NodeError("\(path): an MP4 preview needs ffmpeg on PATH (install it, or use a .gif preview)")
        }
        let t = frames.shape[0], h = frames.shape[1], w = frames.shape[2], c = frames.shape[3]
        let src = frames.float32().f32
        var bytes = [UInt8](repeating: 0, count: t * h * w * 3)
        for p in 0..<(t * h * w) {
            for k in 0..<3 { bytes[p * 3 + k] = UInt8((min(max(src[p * c + k], 0), 1) * 255).rounded()) }
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: exe)
        process.arguments = ["-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
                             "-s", "\(w)x\(h)", "-r", "\(fps)", "-i", "-", "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2",
                             "-c:v", "libx264", "-pix_fmt", "yuv420p", "-f", "mp4", tmp]
        let input = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        input.fileHandleForWriting.write(Data(bytes))
        try input.fileHandleForWriting.close()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw NodeError("\(path): ffmpeg failed: \(String(decoding: message, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))")
        }
    }
}
