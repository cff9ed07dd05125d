import NIOCore

/// A connection watching one workspace. The hub calls these only on the subscriber's own event loop.
protocol WorkspaceSubscriber: AnyObject, Sendable {
    var eventLoop: any EventLoop { get }
    /// The workspace's list as it now is, as a complete text frame (`ServerFrame`): the same buffer goes to every
    /// subscriber of the workspace, to be written as it is.
    func receive(_ frame: ByteBuffer)
    /// The workspace cannot be read: the connection ends.
    func workspaceUnavailable()
}
