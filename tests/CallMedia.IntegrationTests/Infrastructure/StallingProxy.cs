using System.Net;
using System.Net.Sockets;

namespace CallMedia.IntegrationTests.Infrastructure;

/// <summary>
/// A TCP relay to a real server that can be told to stall: from then on it accepts connections and takes requests
/// but never answers (nor passes anything on), as a hung store does — which a stopped store (connection refused)
/// does not show.
/// </summary>
public sealed class StallingProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly string _host;
    private readonly int _port;
    private readonly Task _accepting;
    private volatile bool _stalled;

    public StallingProxy(Uri target)
    {
        _host = target.Host;
        _port = target.Port;
        _listener.Start();
        Url = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}");
        _accepting = AcceptAsync();
    }

    public Uri Url { get; }

    /// <summary>From now on nothing is passed on, either way, on new or open connections.</summary>
    public void Stall() => _stalled = true;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _accepting;
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Stopped.
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(_stop.Token);
            _ = RelayAsync(client);
        }
    }

    private async Task RelayAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                if (_stalled)
                {
                    await PumpAsync(client.GetStream(), Stream.Null);
                    return;
                }

                using var upstream = new TcpClient();
                await upstream.ConnectAsync(_host, _port, _stop.Token);
                await Task.WhenAny(PumpAsync(client.GetStream(), upstream.GetStream()), PumpAsync(upstream.GetStream(), client.GetStream()));
            }
            catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // One side went away.
            }
        }
    }

    private async Task PumpAsync(Stream from, Stream to)
    {
        var buffer = new byte[64 * 1024];
        int read;
        while ((read = await from.ReadAsync(buffer, _stop.Token)) > 0)
        {
            if (!_stalled)
            {
                await to.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
            }
        }
    }
}
