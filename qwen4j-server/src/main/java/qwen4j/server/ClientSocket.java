package qwen4j.server;

import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;

/**
 * The socket under a JDK {@link HttpExchange}, which its API does not expose: the server needs it to
 * notice a client that hung up while its answer is being generated (the request body has been read,
 * so nothing else would tell), and to stop reading a malformed body. Reached through the JDK's
 * internal classes, which needs {@code --add-opens jdk.httpserver/sun.net.httpserver=ALL-UNNAMED}
 * (bin/qwen4j and the tests pass it); without it {@link #of} returns null and those checks are off.
 */
final class ClientSocket {
    private static final MethodHandle IMPL, CONNECTION, CHANNEL;
    /** Why the socket cannot be reached, or null. */
    static final String UNAVAILABLE;

    static {
        MethodHandle impl = null, connection = null, channel = null;
        String why = null;
        try {
            Class<?> exchange = Class.forName("sun.net.httpserver.HttpExchangeImpl");
            Class<?> exchangeImpl = Class.forName("sun.net.httpserver.ExchangeImpl");
            Class<?> httpConnection = Class.forName("sun.net.httpserver.HttpConnection");
            MethodHandles.Lookup l = MethodHandles.privateLookupIn(exchange, MethodHandles.lookup());
            impl = l.findGetter(exchange, "impl", exchangeImpl);
            connection = l.findVirtual(exchangeImpl, "getConnection", MethodType.methodType(httpConnection));
            channel = l.findVirtual(httpConnection, "getChannel", MethodType.methodType(SocketChannel.class));
        } catch (ReflectiveOperationException | RuntimeException e) {
            why = e.getClass().getSimpleName() + ": " + e.getMessage();
            impl = connection = channel = null;
        }
        IMPL = impl;
        CONNECTION = connection;
        CHANNEL = channel;
        UNAVAILABLE = why;
    }

    private ClientSocket() {}

    /** The exchange's socket channel, or null when it cannot be reached. */
    static SocketChannel of(HttpExchange ex) {
        if (IMPL == null) return null;
        try {
            Object impl = IMPL.invoke(ex);
            return (SocketChannel) CHANNEL.invoke(CONNECTION.invoke(impl));
        } catch (Throwable e) {
            return null; // another HttpExchange implementation (e.g. HTTPS): checks off for it
        }
    }

    /**
     * Whether the peer has closed (or reset) the connection, looked at without blocking. Only while no
     * other thread reads or writes the channel. A byte the client already sent (a pipelined request) is
     * consumed: {@code pipelined[0]} is then set, and the caller must close the connection after answering.
     */
    static boolean closed(SocketChannel ch, boolean[] pipelined) {
        if (ch == null || pipelined[0]) return false;
        if (!ch.isOpen()) return true;
        try {
            ch.configureBlocking(false);
            try {
                int n = ch.read(ByteBuffer.allocate(1));
                if (n > 0) pipelined[0] = true;
                return n < 0;
            } finally {
                ch.configureBlocking(true);
            }
        } catch (IOException | RuntimeException e) {
            return true; // reset by the peer, or closed under us
        }
    }
}
