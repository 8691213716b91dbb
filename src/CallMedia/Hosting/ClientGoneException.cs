namespace CallMedia.Hosting;

/// <summary>
/// The client stopped taking the response (hung up, reset): the transfer ends here, as a broken one. Thrown as soon as
/// the transport says so, which can be before the server marks the request aborted.
/// </summary>
public sealed class ClientGoneException(Exception? inner = null) : OperationCanceledException("the client is gone", inner);
