import TCCore

extension ParityFixture {
    /// Fails when the fixture holds weights under `prefix` that the model did not read: fixtures store
    /// exactly the tensors the reference computation reads, so an unread one is a missed path.
    func requireAllWeightsRead(_ reader: WeightReader, prefix: String) throws {
        let unread = file.keys.filter { $0.hasPrefix(prefix) && !reader.readKeys.contains($0) }
        if !unread.isEmpty { throw WeightError.unexpectedKeys(file: path, keys: unread.sorted()) }
    }
}
