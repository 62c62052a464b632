import Foundation
import TCCore
import TCModels

/// Gives back the resident pages of weights a node has finished with. Model files are mapped
/// read-only for the whole run and their pages stay counted in the process's memory after the
/// networks that read them are gone; dropping them (`MADV_DONTNEED` on a clean file mapping: the
/// pages are re-read from the file if touched again) makes "released" true for the resident size
/// too, e.g. the CLIP towers before the denoising loop and the UNet before decoding.
public enum ResidentPages {
    /// Drops the pages of every tensor under `prefixes` in `model`'s files, only where they lie
    /// inside a read-only mapping of one of `files`. Returns the bytes advised.
    @discardableResult
    public static func release(_ model: ToonCrafterModel, prefixes: [String], files: [String]) -> Int {
        let mapped = readOnlyMappings(of: Set(files.map { URL(fileURLWithPath: $0).resolvingSymlinksInPath().path }))
        guard !mapped.isEmpty else { return 0 }
        let page = UInt(sysconf(Int32(_SC_PAGESIZE)))
        var advised = 0
        for key in model.source.allKeys where prefixes.contains(where: key.hasPrefix) {
            guard let t = try? model.source.tensor(key) else { continue }
            let start = UInt(bitPattern: t.rawPointer), end = start + UInt(t.count * t.dtype.byteSize)
            guard mapped.contains(where: { $0.lowerBound <= start && end <= $0.upperBound }) else { continue }
            let lo = (start + page - 1) / page * page, hi = end / page * page
            guard hi > lo, madvise(UnsafeMutableRawPointer(bitPattern: lo), Int(hi - lo), MADV_DONTNEED) == 0 else { continue }
            advised += Int(hi - lo)
        }
        return advised
    }

    /// Address ranges of this process's read-only (never writable) mappings of `paths`.
    static func readOnlyMappings(of paths: Set<String>) -> [Range<UInt>] {
        guard let maps = try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8) else { return [] }
        return maps.split(separator: "\n").compactMap { line in
            // "start-end perms offset dev inode path"
            let f = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            guard f.count == 6, f[1].hasPrefix("r-"), paths.contains(f[5].trimmingCharacters(in: .whitespaces)) else { return nil }
            let bounds = f[0].split(separator: "-").compactMap { UInt($0, radix: 16) }
            return bounds.count == 2 ? bounds[0]..<bounds[1] : nil
        }
    }
}
