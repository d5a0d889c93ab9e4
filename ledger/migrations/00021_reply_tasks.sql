-- Reply tasks of the team (docs/collectors.md, Replies): a reply no customer matched
-- opens a task of kind 'reply' for nobody, and of no customer (customer_id ''). Every
-- other task still belongs to a customer.

-- +goose Up
ALTER TABLE tasks DROP CONSTRAINT tasks_customer_id_check;
ALTER TABLE tasks ADD CONSTRAINT tasks_customer_id_check
    CHECK ((customer_id <> '' OR kind = 'reply') AND length(customer_id) <= 128);

-- +goose Down
-- Fails while a reply task of no customer exists, rather than deleting it.
ALTER TABLE tasks DROP CONSTRAINT tasks_customer_id_check;
ALTER TABLE tasks ADD CONSTRAINT tasks_customer_id_check CHECK (customer_id <> '' AND length(customer_id) <= 128);
