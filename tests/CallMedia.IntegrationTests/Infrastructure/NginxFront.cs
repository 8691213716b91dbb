using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace CallMedia.IntegrationTests.Infrastructure;

/// <summary>
/// A real nginx (the Debian package, installed by scripts/setup.sh --test) in front of a server, as docs/deployment.md
/// configures it for <c>Delivery:AccelRedirect</c>: everything proxied to the server, and an internal location
/// aliasing the media folder. Its access log holds the audit seq CallMedia names and the bytes nginx sent.
/// </summary>
public sealed class NginxFront : IAsyncDisposable
{
    public const string InternalPrefix = "/_callmedia_media/";

    private readonly Process _process;
    private readonly DirectoryInfo _dir;

    private NginxFront(Process process, DirectoryInfo dir, Uri url)
    {
        _process = process;
        _dir = dir;
        Url = url;
    }

    public Uri Url { get; }

    public string AccessLog => Path.Combine(_dir.FullName, "access.log");

    public static async Task<NginxFront> StartAsync(Uri backend, string mediaRoot)
    {
        var nginx = new[] { "/usr/sbin/nginx", "/usr/bin/nginx" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("nginx is not installed: run scripts/setup.sh --test");
        var dir = Directory.CreateTempSubdirectory("cm-nginx-");
        var port = FreePort();
        var temp = Path.Combine(dir.FullName, "tmp");
        Directory.CreateDirectory(temp);
        // Workers of a root master run as nobody, who may not enter the test's private temp folders.
        var user = Environment.UserName == "root" ? "user root;" : "";
        await File.WriteAllTextAsync(Path.Combine(dir.FullName, "nginx.conf"), $$"""
            {{user}}
            worker_processes 1;
            pid {{dir.FullName}}/nginx.pid;
            error_log {{dir.FullName}}/error.log warn;
            events { worker_connections 256; }
            http {
              log_format audit '$upstream_http_x_callmedia_audit $status $body_bytes_sent';
              access_log {{dir.FullName}}/access.log audit;
              client_body_temp_path {{temp}}/body;
              proxy_temp_path {{temp}}/proxy;
              fastcgi_temp_path {{temp}}/fastcgi;
              uwsgi_temp_path {{temp}}/uwsgi;
              scgi_temp_path {{temp}}/scgi;
              sendfile on;
              server {
                listen 127.0.0.1:{{port}};
                location / {
                  proxy_pass {{backend.GetLeftPart(UriPartial.Authority)}};
                  proxy_set_header Host $http_host;
                  proxy_buffering off;
                }
                location {{InternalPrefix}} {
                  internal;
                  alias {{mediaRoot.TrimEnd('/')}}/;
                }
              }
            }
            """);
        var start = new ProcessStartInfo(nginx) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { "-c", Path.Combine(dir.FullName, "nginx.conf"), "-p", dir.FullName, "-g", "daemon off;" })
        {
            start.ArgumentList.Add(a);
        }

        var process = Process.Start(start)!;
        var url = new Uri($"http://127.0.0.1:{port}");
        var front = new NginxFront(process, dir, url);
        var waited = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, port);
                return front;
            }
            catch (SocketException) when (waited.Elapsed < TimeSpan.FromSeconds(15) && !process.HasExited)
            {
                await Task.Delay(50);
            }
            catch (SocketException)
            {
                var error = process.HasExited ? await process.StandardError.ReadToEndAsync() : "";
                await front.DisposeAsync();
                throw new InvalidOperationException($"nginx did not start: {error}");
            }
        }
    }

    public HttpClient CreateClient() => new(new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false }) { BaseAddress = Url };

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        _dir.Delete(recursive: true);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
