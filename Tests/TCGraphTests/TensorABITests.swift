import CTCABI
import TCCore
import TCPluginKit
import XCTest

/// Tensors cross the C boundary without copies, and their owners are released exactly once.
final class TensorABITests: XCTestCase {
    nonisolated(unsafe) static var releases = 0

    func testExportKeepsLayoutAndAdoptingOwnHandlesGivesTheSameStorage() throws {
        let t = Tensor([1, 2, 3, 4, 5, 6], [2, 3]).permuted([1, 0])
        let h = TensorABI.export(t)
        XCTAssertEqual(h.pointee.data, t.rawPointer, "no copy")
        XCTAssertEqual(h.pointee.ndim, 2)
        XCTAssertEqual([h.pointee.shape[0], h.pointee.shape[1]], [3, 2])
        XCTAssertEqual([h.pointee.strides![0], h.pointee.strides![1]], [1, 3], "strides in elements, as DLPack")
        XCTAssertEqual(String(cString: tc_dtype_name(h.pointee.dtype)), "f32")
        XCTAssertEqual(tc_tensor_is_compact(h), 0)
        let back = try TensorABI.adopt(h)
        XCTAssertTrue(back.storage === t.storage)
        XCTAssertEqual(back.toArray(), [1, 4, 2, 5, 3, 6])
    }

    func testForeignHandleIsReleasedOnceWhenTheLastViewGoes() throws {
        TensorABITests.releases = 0
        let data = UnsafeMutablePointer<Float>.allocate(capacity: 4)
        data.initialize(from: [1, 2, 3, 4], count: 4)
        let shape = UnsafeMutablePointer<Int64>.allocate(capacity: 1)
        shape[0] = 4
        let h = UnsafeMutablePointer<tc_tensor>.allocate(capacity: 1)
        h.initialize(to: tc_tensor(data: data, device: tc_device(device_type: 1, device_id: 0), ndim: 1,
                                   dtype: tc_dtype(code: 2, bits: 32, lanes: 1), shape: shape, strides: nil, byte_offset: 4,
                                   owner: nil, release: { t in
                                       TensorABITests.releases += 1
                                       t.pointee.data!.deallocate()
                                       t.pointee.shape.deallocate()
                                       t.deallocate()
                                   }))
        var t: Tensor? = try TensorABI.adopt(h)
        XCTAssertEqual(t?.rawPointer, UnsafeMutableRawPointer(data) + 4, "byte_offset honoured, no copy")
        let view = t!.sliced(axis: 0, 0..<2)
        t = nil
        XCTAssertEqual(TensorABITests.releases, 0, "a view still needs the memory")
        XCTAssertEqual(view.toArray(), [2, 3])
        withExtendedLifetime(view) {}
        _ = consume view
        XCTAssertEqual(TensorABITests.releases, 1)
    }

    func testRejectsWhatATensorCannotBe() {
        let shape = UnsafeMutablePointer<Int64>.allocate(capacity: 1)
        shape[0] = 2
        defer { shape.deallocate() }
        var gpu = tc_tensor(data: shape, device: tc_device(device_type: 2, device_id: 0), ndim: 1,
                            dtype: tc_dtype(code: 2, bits: 32, lanes: 1), shape: shape, strides: nil, byte_offset: 0, owner: nil, release: nil)
        XCTAssertThrowsError(try TensorABI.borrow(&gpu)) { e in XCTAssertTrue("\(e)".contains("only CPU"), "\(e)") }
        var vector = gpu
        vector.device.device_type = 1
        vector.dtype.lanes = 4
        XCTAssertThrowsError(try TensorABI.borrow(&vector)) { e in XCTAssertTrue("\(e)".contains("unsupported dtype"), "\(e)") }
    }
}
